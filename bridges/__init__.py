"""Bridges between retriever and generator."""

from ragadapt.bridges.base import Bridge

# kind -> loader(directory, device=...) for bridges saved inside a RAGSystem directory.
LOADERS: dict = {}

__all__ = ["Bridge", "LOADERS"]
