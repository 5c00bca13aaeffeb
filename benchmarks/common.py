"""Shared helpers for the benchmark scripts: timing, the corpus embeddings, realistic queries."""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def best_of(fn, repeat: int = 3) -> float:
    """Best wall time of `repeat` calls (the least disturbed by other load on the machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def wiki_queries(n: int) -> list[str]:
    """Queries a user might type: the bundled dev questions, then article descriptions
    ("Painting by Georges Seurat") of the bundled corpus, deterministic."""
    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.corpora.wiki_qa import default_qa_path
    from ragadapt.eval import load_qa_jsonl

    queries = [e.question for e in load_qa_jsonl(default_qa_path())]
    queries += [d.meta["description"] for d in load_wiki() if d.meta.get("description")]
    return queries[:n]


def wiki_retriever(system_dir: str | None):
    """The dense retriever of a saved default system (e.g. runs/wiki from `ragadapt demo`), else a new build."""
    from ragadapt.system import RAGSystem

    if system_dir and Path(system_dir, "manifest.json").exists():
        return RAGSystem.load(system_dir, generator=False, device="cpu").retriever
    print(f"no saved system at {system_dir}: embedding the whole bundled corpus (a few minutes)")
    return RAGSystem.build("wiki", generator=None, device="cpu").retriever
