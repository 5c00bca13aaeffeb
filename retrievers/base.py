"""The protocols every retriever and reranker follows. Batched: one call, many queries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ragadapt.types import Hit, Passage


@runtime_checkable
class Retriever(Protocol):
    kind: str

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """Top-`k` hits per query, best first (fewer when the index holds fewer passages)."""
        ...

    def add(self, passages: Sequence[Passage]) -> None: ...

    def save(self, directory: str | Path) -> None:
        """Write atomically, with a manifest that `load` checks."""
        ...

    def __len__(self) -> int: ...


@runtime_checkable
class Reranker(Protocol):
    kind: str

    def rerank(self, queries: Sequence[str], hits: Sequence[Sequence[Hit]], k: int | None = None) -> list[list[Hit]]:
        """Re-order each query's hits (batched over all pairs), keeping the best `k`."""
        ...

    def save(self, directory: str | Path) -> None: ...
