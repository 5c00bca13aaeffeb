"""Hand-written QA over the bundled Wikipedia corpus.

`wiki_dev.jsonl`: the first 30 questions (used by `ragadapt demo` and as the default of `ragadapt eval`).
`wiki_handwritten.jsonl`: 280 questions written by reading the articles (none made by a recipe; each answer
checked to occur in its gold article by scripts/handwritten_questions.py), one- and two-hop, of many kinds,
split once by article into `dev-select` (choose settings, early stopping, merge weights) and `dev-test` (report
only). Training recipes leave out every dev-test article (`decontaminate`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

SPLITS = ("dev-select", "dev-test")


def default_qa_path() -> Path:
    return Path(__file__).parent / "data" / "wiki_dev.jsonl"


def handwritten_path() -> Path:
    return Path(__file__).parent / "data" / "wiki_handwritten.jsonl"


def handwritten(split: str, hops: int | None = None):
    """QAExamples of one split (`dev-select` or `dev-test`), optionally only 1- or 2-hop questions."""
    from ragadapt.errors import DataFormatError
    from ragadapt.eval.data import load_qa_jsonl

    if split not in SPLITS:
        raise DataFormatError(f"unknown hand-written split {split!r}; choose {' or '.join(SPLITS)}")
    return [e for e in load_qa_jsonl(handwritten_path())
            if e.meta.get("split") == split and (hops is None or e.meta.get("hops") == hops)]


def parse_name(name: str):
    """`dev-test`, `dev-select`, `dev-test:1` / `dev-test:2` (hops) -> examples, or None for another name."""
    split, _, hops = name.partition(":")
    if split not in SPLITS:
        return None
    return handwritten(split, int(hops) if hops.isdigit() else None)


@lru_cache(maxsize=1)
def dev_test_articles() -> frozenset[str]:
    """Every article a dev-test question is about: no training question may come from one of them."""
    rows = [json.loads(line) for line in handwritten_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    return frozenset(d for r in rows if r.get("split") == "dev-test" for d in r.get("gold_doc_ids", []))


def decontaminate(examples: Sequence, doc_ids: Callable[[object], Iterable[str]], where: str = "training questions",
                  held: frozenset[str] | None = None) -> tuple[list, int]:
    """(examples without any about a dev-test article, how many were removed); the count is logged."""
    held = dev_test_articles() if held is None else held
    kept = [e for e in examples if not set(doc_ids(e)) & held]
    removed = len(examples) - len(kept)
    if removed:
        log.info("decontamination: %d of %d %s are about dev-test articles and were left out", removed,
                 len(examples), where)
    return kept, removed
