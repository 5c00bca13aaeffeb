"""Reading JSONL files with errors that name the file and the line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from ragadapt.errors import DataFormatError


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
