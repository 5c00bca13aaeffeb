"""Sparse retrieval with BM25 (the bm25s library; its arrays are saved without pickle)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragadapt.atomic import atomic_dir
from ragadapt.errors import ManifestError
from ragadapt.manifest import read_manifest, write_manifest
from ragadapt.retrievers.dense import hits_from_rows
from ragadapt.retrievers.store import PassageStore
from ragadapt.types import Hit, Passage

SUBDIR = "bm25"


class BM25Retriever:
    """BM25 over title + text. `add` re-indexes everything: bm25s has no incremental update."""

    kind = "bm25"

    def __init__(self, store: PassageStore | None = None, stopwords: str = "en", k1: float = 1.5, b: float = 0.75):
        self.store = store if store is not None else PassageStore()
        self.stopwords, self.k1, self.b = stopwords, k1, b
        self._bm25 = None
        if len(self.store):
            self._index()

    @classmethod
    def build(cls, passages: Sequence[Passage], **kwargs) -> BM25Retriever:
        return cls(PassageStore(passages), **kwargs)

    def __len__(self) -> int:
        return len(self.store)

    def get(self, passage_id: str) -> Passage:
        return self.store.get(passage_id)

    def _tokenize(self, texts: Sequence[str], return_ids: bool):
        import bm25s

        return bm25s.tokenize(list(texts), stopwords=self.stopwords, return_ids=return_ids, show_progress=False)

    def _index(self) -> None:
        import bm25s

        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        self._bm25.index(self._tokenize([p.contents for p in self.store.passages], True), show_progress=False)

    def add(self, passages: Sequence[Passage]) -> None:
        self.store.extend(passages)
        self._index()

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        if self._bm25 is None or k <= 0:
            return [[] for _ in queries]
        k = min(k, len(self.store))
        rows, scores = self._bm25.retrieve(self._tokenize(queries, False), k=k, show_progress=False)
        # bm25s pads with score-0 rows when a query matches fewer than k passages; drop them.
        rows = np.where(scores > 0, rows, -1)
        return hits_from_rows(self.store, scores, rows)

    def save(self, directory: str | Path) -> None:
        with atomic_dir(directory) as tmp:
            self.store.save(tmp)
            if self._bm25 is not None:
                self._bm25.save(str(tmp / SUBDIR))
            write_manifest(tmp, self.kind, count=len(self.store), stopwords=self.stopwords, k1=self.k1, b=self.b)

    @classmethod
    def load(cls, directory: str | Path, **_: object) -> BM25Retriever:
        import bm25s

        directory = Path(directory)
        m = read_manifest(directory, cls.kind)
        retriever = cls(stopwords=m["stopwords"], k1=m["k1"], b=m["b"])
        retriever.store = PassageStore.load(directory)
        if len(retriever.store) != m["count"]:
            raise ManifestError(f"{directory}: {len(retriever.store)} passages, manifest says {m['count']}")
        if len(retriever.store):
            retriever._bm25 = bm25s.BM25.load(str(directory / SUBDIR), allow_pickle=False)
        return retriever
