"""The Bridge protocol: sits between retriever and generator and chooses which passages, in which
order, the generator sees (BGM, Ke et al. 2024)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ragadapt.types import Hit


@runtime_checkable
class Bridge(Protocol):
    kind: str

    def select_batch(self, queries: Sequence[str], hits: Sequence[Sequence[Hit]]) -> list[list[Hit]]:
        """Per query, an ordered subset of its `hits` (possibly empty); never a passage that was not among them.
        Batched: one call for many queries (a model-based bridge generates for all of them at once)."""
        ...

    def save(self, directory: str | Path) -> Path: ...
