"""Bridges between retriever and generator."""

from ragadapt.bridges.base import Bridge

from ragadapt.bridges.bgm import BGMBridge, candidate_labels, format_selection, parse_selection

# kind -> loader(directory, device=...) for bridges saved inside a RAGSystem directory.
LOADERS: dict = {BGMBridge.kind: BGMBridge.load_dir}

__all__ = ["BGMBridge", "Bridge", "LOADERS", "candidate_labels", "format_selection", "parse_selection"]
