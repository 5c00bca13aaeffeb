"""PassageStore: the passages behind an index, in index order, saved as JSONL.

The save also writes the byte offset of every line and a sorted table of id hashes (numpy files), so a saved
store opens memory-mapped (`MappedPassageStore`): opening costs no parsing and resident memory grows only with
the passages read, which is what a 20M-passage corpus needs. Written here because neither datasets nor FAISS
keeps passages addressable both by row and by id without loading them; numpy's own format (no pickle) holds the
tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ragadapt.errors import DataFormatError, ManifestError
from ragadapt.types import Passage

FILENAME = "passages.jsonl"
OFFSETS = "passages.offsets.npy"  # int64: the byte offset of each line, then the file's size
ID_HASHES = "passages.idhash.npy"  # uint64: the hash of every id, sorted
ID_ROWS = "passages.idrows.npy"  # int64: the row of each sorted hash


def id_hash(passage_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(passage_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "little")


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
        save_passages(Path(directory), self.passages)

    @classmethod
    def load(cls, directory: str | Path):
        """The store saved in `directory`: memory-mapped when its offset tables are there (every save since they
        exist), else read into memory (older saves)."""
        if all((Path(directory) / name).is_file() for name in (OFFSETS, ID_HASHES, ID_ROWS)):
            return MappedPassageStore(directory)
        path = Path(directory) / FILENAME
        passages = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                try:
                    passages.append(Passage.from_dict(json.loads(line)))
                except (json.JSONDecodeError, TypeError) as e:
                    raise DataFormatError(f"corrupted passage record ({e})", path=str(path), line=lineno) from e
        return cls(passages)


def save_passages(directory: Path, passages: Iterable[Passage]) -> None:
    """passages.jsonl and its offset and id tables (each written atomically)."""
    from ragadapt.atomic import atomic_write_text

    lines = [json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in passages]
    sizes = np.fromiter((len(line.encode("utf-8", "surrogatepass")) for line in lines), dtype=np.int64,
                        count=len(lines))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    hashes = np.fromiter((id_hash(json.loads(line)["id"]) for line in lines), dtype=np.uint64, count=len(lines))
    order = np.argsort(hashes, kind="stable")
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / FILENAME, "".join(lines))
    for name, array in ((OFFSETS, offsets), (ID_HASHES, hashes[order]), (ID_ROWS, order.astype(np.int64))):
        _save_array(directory / name, array)


def _save_array(path: Path, array: np.ndarray) -> None:
    import os
    import uuid

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(tmp, path)


class _Rows(Sequence):
    """`store.passages` of a mapped store: a read-only sequence that parses a passage when it is read."""

    def __init__(self, store: MappedPassageStore):
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._store[j] for j in range(*i.indices(len(self)))]
        return self._store[i]

    def __iter__(self) -> Iterator[Passage]:
        return (self._store[i] for i in range(len(self)))

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and all(a == b for a, b in zip(self, other))


class MappedPassageStore:
    """A saved PassageStore read through mmap: row -> passage by its byte offset, id -> row by binary search over
    the sorted id hashes (a hash collision is resolved by comparing the ids). The first `extend` reads every
    passage into memory and goes on as a PassageStore (adding to a 20M-passage store is a rebuild anyway)."""

    def __init__(self, directory: str | Path):
        import mmap

        self.path = Path(directory) / FILENAME
        self.offsets = np.load(Path(directory) / OFFSETS, mmap_mode="r", allow_pickle=False)
        self.hashes = np.load(Path(directory) / ID_HASHES, mmap_mode="r", allow_pickle=False)
        self.id_rows = np.load(Path(directory) / ID_ROWS, mmap_mode="r", allow_pickle=False)
        size = self.path.stat().st_size
        if len(self.offsets) != len(self.hashes) + 1 or len(self.hashes) != len(self.id_rows) or \
                (len(self.offsets) and int(self.offsets[-1]) != size):
            raise ManifestError(f"{self.path.parent}: the passage tables do not match {FILENAME} (a partial copy?)")
        self._file = open(self.path, "rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._memory: PassageStore | None = None

    @property
    def passages(self):
        return self._memory.passages if self._memory is not None else _Rows(self)

    def __len__(self) -> int:
        return len(self._memory) if self._memory is not None else len(self.hashes)

    def __getitem__(self, row: int) -> Passage:
        if self._memory is not None:
            return self._memory[row]
        n = len(self.hashes)
        row = int(row)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(f"passage row {row} out of range (0..{n - 1})")
        line = self._map[int(self.offsets[row]):int(self.offsets[row + 1])]
        try:
            return Passage.from_dict(json.loads(line.decode("utf-8", "surrogatepass")))
        except (ValueError, TypeError) as e:
            raise DataFormatError(f"corrupted passage record ({e})", path=str(self.path), line=row + 1) from e

    def _row(self, passage_id: str) -> int | None:
        h = np.uint64(id_hash(passage_id))
        i = int(np.searchsorted(self.hashes, h, side="left"))
        while i < len(self.hashes) and self.hashes[i] == h:
            row = int(self.id_rows[i])
            if self[row].id == passage_id:
                return row
            i += 1
        return None

    def __contains__(self, passage_id: str) -> bool:
        if self._memory is not None:
            return passage_id in self._memory
        return self._row(passage_id) is not None

    def get(self, passage_id: str) -> Passage:
        if self._memory is not None:
            return self._memory.get(passage_id)
        row = self._row(passage_id)
        if row is None:
            raise KeyError(f"no passage with id {passage_id!r}")
        return self[row]

    def rows(self, ids: Sequence[str]) -> list[int]:
        if self._memory is not None:
            return self._memory.rows(ids)
        out = []
        for passage_id in ids:
            row = self._row(passage_id)
            if row is None:
                raise KeyError(passage_id)
            out.append(row)
        return out

    def extend(self, passages: Iterable[Passage]) -> None:
        if self._memory is None:
            self._memory = PassageStore(list(_Rows(self)))
        self._memory.extend(passages)

    def save(self, directory: str | Path) -> None:
        save_passages(Path(directory), self.passages)
