"""A small hand-written QA set over the bundled Wikipedia corpus (30 questions, each answer checked
to occur in its gold article), used by `ragadapt demo` and as the default of `ragadapt eval`."""

from __future__ import annotations

from pathlib import Path


def default_qa_path() -> Path:
    return Path(__file__).parent / "data" / "wiki_dev.jsonl"
