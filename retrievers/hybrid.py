"""Hybrid retrieval: reciprocal rank fusion (Cormack et al., 2009) of several retrievers' rankings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ragadapt.atomic import atomic_dir
from ragadapt.manifest import read_manifest, write_manifest
from ragadapt.types import Hit, Passage


def rrf_fuse(rankings: Sequence[Sequence[Hit]], k: int, k_rrf: int = 60,
             weights: Sequence[float] | None = None) -> list[Hit]:
    """score(p) = sum_r w_r / (k_rrf + rank_r(p)), ranks 1-based; ties keep first-seen order."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    passages: dict[str, Passage] = {}
    for w, hits in zip(weights, rankings):
        for hit in hits:
            pid = hit.passage.id
            scores[pid] = scores.get(pid, 0.0) + w / (k_rrf + hit.rank + 1)
            passages.setdefault(pid, hit.passage)
    best = sorted(scores, key=lambda pid: -scores[pid])[:k]
    return [Hit(passages[pid], scores[pid], rank) for rank, pid in enumerate(best)]


class HybridRetriever:
    """Fuses the rankings of named retrievers (e.g. dense + bm25) with RRF."""

    kind = "hybrid"

    def __init__(self, retrievers: dict[str, object], k_rrf: int = 60, weights: dict[str, float] | None = None,
                 fetch_factor: int = 2):
        if not retrievers:
            raise ValueError("HybridRetriever needs at least one retriever")
        self.retrievers, self.k_rrf, self.fetch_factor = dict(retrievers), k_rrf, fetch_factor
        self.weights = {name: (weights or {}).get(name, 1.0) for name in self.retrievers}

    @property
    def module(self):
        return next((r.module for r in self.retrievers.values() if getattr(r, "module", None) is not None), None)

    def __len__(self) -> int:
        return len(next(iter(self.retrievers.values())))

    @property
    def store(self):
        """The passages (every retriever indexes the same ones)."""
        return next(iter(self.retrievers.values())).store

    def get(self, passage_id: str) -> Passage:
        return self.store.get(passage_id)

    def add(self, passages: Sequence[Passage]) -> None:
        for r in self.retrievers.values():
            r.add(passages)

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        fetch = max(k * self.fetch_factor, 20)
        per_retriever = {name: r.search(queries, fetch) for name, r in self.retrievers.items()}
        names = list(self.retrievers)
        return [
            rrf_fuse([per_retriever[n][i] for n in names], k, self.k_rrf, [self.weights[n] for n in names])
            for i in range(len(queries))
        ]

    def save(self, directory: str | Path) -> None:
        with atomic_dir(directory) as tmp:
            for name, r in self.retrievers.items():
                r.save(tmp / name)
            write_manifest(tmp, self.kind, parts=list(self.retrievers), k_rrf=self.k_rrf, weights=self.weights,
                           fetch_factor=self.fetch_factor)

    @classmethod
    def load(cls, directory: str | Path, **kwargs) -> HybridRetriever:
        from ragadapt.retrievers.io import load_retriever

        directory = Path(directory)
        m = read_manifest(directory, cls.kind)
        parts = {name: load_retriever(directory / name, **kwargs) for name in m["parts"]}
        return cls(parts, k_rrf=m["k_rrf"], weights=m["weights"], fetch_factor=m["fetch_factor"])
