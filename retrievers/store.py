"""PassageStore: the passages behind an index, in index order, saved as JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from ragadapt.errors import DataFormatError
from ragadapt.types import Passage

FILENAME = "passages.jsonl"


class PassageStore:
    def __init__(self, passages: Iterable[Passage] = ()):
        self.passages: list[Passage] = []
        self._row: dict[str, int] = {}
        self.extend(passages)

    def extend(self, passages: Iterable[Passage]) -> None:
        """Append passages; ids must be new (a duplicate would make hits ambiguous)."""
        new = list(passages)
        seen = set(self._row)
        for p in new:
            if p.id in seen:
                raise DataFormatError(f"duplicate passage id {p.id!r}; passage ids must be unique", field="id")
            seen.add(p.id)
        for p in new:
            self._row[p.id] = len(self.passages)
            self.passages.append(p)

    def __len__(self) -> int:
        return len(self.passages)

    def __getitem__(self, row: int) -> Passage:
        return self.passages[row]

    def __contains__(self, passage_id: str) -> bool:
        return passage_id in self._row

    def get(self, passage_id: str) -> Passage:
        try:
            return self.passages[self._row[passage_id]]
        except KeyError:
            raise KeyError(f"no passage with id {passage_id!r}") from None

    def rows(self, ids: Sequence[str]) -> list[int]:
        return [self._row[i] for i in ids]

    def save(self, directory: str | Path) -> None:
        from ragadapt.jsonl import write_jsonl

        write_jsonl(Path(directory) / FILENAME, (p.to_dict() for p in self.passages))

    @classmethod
    def load(cls, directory: str | Path) -> PassageStore:
        path = Path(directory) / FILENAME
        passages = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                try:
                    passages.append(Passage.from_dict(json.loads(line)))
                except (json.JSONDecodeError, TypeError) as e:
                    raise DataFormatError(f"corrupted passage record ({e})", path=str(path), line=lineno) from e
        return cls(passages)
