"""Load any saved retriever by the kind its manifest records."""

from __future__ import annotations

from pathlib import Path

from ragadapt.manifest import read_manifest


def _loaders():
    from ragadapt.retrievers.bm25 import BM25Retriever
    from ragadapt.retrievers.dense import DenseRetriever
    from ragadapt.retrievers.hybrid import HybridRetriever

    return {c.kind: c for c in (DenseRetriever, BM25Retriever, HybridRetriever)}


def load_retriever(directory: str | Path, **kwargs):
    """kwargs (embedder=, device=) go to the loader; BM25 ignores them."""
    loaders = _loaders()
    m = read_manifest(directory, tuple(loaders), verify_hashes=False)
    return loaders[m["kind"]].load(directory, **kwargs)
