"""JSONL: reading with errors that name the file and the line; one writer (atomic); an append-only log."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ragadapt.errors import DataFormatError


def to_jsonl(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)


def write_jsonl(path: str | Path, rows: Iterable[dict], only_if_changed: bool = False) -> Path:
    """Write `rows` one JSON object per line, atomically (a kill leaves the old file or the new one, never half).
    `only_if_changed`: leave an identical file untouched (its mtime stays, for what is fingerprinted by it)."""
    from ragadapt.atomic import atomic_write_text

    path, text = Path(path), to_jsonl(rows)
    if only_if_changed and path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


def iter_jsonl(path: str | Path, on_undecodable: Callable[[int], None] | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line.

    Invalid JSON, or a line that is not a JSON object, raises DataFormatError("FILE:LINE: ...").
    A line that is not UTF-8 is passed to `on_undecodable(line number)` (to skip and count it), or raises.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("no such file", path=str(path))
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                if on_undecodable is None:
                    raise DataFormatError("not valid UTF-8", path=str(path), line=lineno) from None
                on_undecodable(lineno)
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(f"invalid JSON ({e.msg} at column {e.colno})", path=str(path), line=lineno) from e
            if not isinstance(record, dict):
                raise DataFormatError(f"expected a JSON object, got {type(record).__name__}", path=str(path), line=lineno)
            yield lineno, record


class AppendLog:
    """An append-only JSONL file of records that a run can resume from (caches of expensive results).
    An interrupted append leaves a torn last line: it is skipped on read and the next append starts on
    a new line, so no complete record is ever lost."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None

    def read(self) -> list[dict]:
        import logging

        if not self.path or not self.path.exists():
            return []
        rows = []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                if lineno != len(lines):
                    logging.getLogger(__name__).warning("%s:%d: unreadable record skipped", self.path, lineno)
        return rows

    def append(self, rows: list[dict]) -> None:
        if not self.path or not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab+") as f:
            torn = False
            if f.seek(0, 2) > 0:
                f.seek(-1, 2)
                torn = f.read(1) != b"\n"
            f.seek(0, 2)
            f.write((("\n" if torn else "") + to_jsonl(rows)).encode())
