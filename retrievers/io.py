"""Load any saved retriever by the kind its manifest records (the one dispatch of ragadapt.components)."""

from __future__ import annotations

from pathlib import Path


def load_retriever(directory: str | Path, **kwargs):
    """kwargs (embedder=, device=) go to the loader; BM25 ignores them."""
    from ragadapt.components import load_component

    return load_component(directory, role="retriever", **kwargs)
