"""Bridges between retriever and generator."""

from ragadapt.bridges.base import Bridge
from ragadapt.bridges.bgm import BGMBridge, candidate_labels, format_selection, parse_selection

__all__ = ["BGMBridge", "Bridge", "candidate_labels", "format_selection", "parse_selection"]
