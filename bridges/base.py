"""The Bridge protocol: sits between retriever and generator and chooses which passages, in which
order, the generator sees (BGM, Ke et al. 2024)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ragadapt.types import Hit


@runtime_checkable
class Bridge(Protocol):
    kind: str

    def select(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """An ordered subset of `hits` (possibly empty); never a passage that was not among them."""
        ...
