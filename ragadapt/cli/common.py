"""Helpers shared by the CLI commands: printing answers, peak memory."""

from __future__ import annotations

import resource
import sys
import textwrap

from ragadapt.types import Answer


def print_answer(answer: Answer, show_passages: bool = True, width: int = 100, out=None) -> None:
    out = out or sys.stdout
    print(f"\nQ: {answer.question}", file=out)
    print(f"A: {answer.text}", file=out)
    if show_passages:
        for i, hit in enumerate(answer.hits, start=1):
            p = hit.passage
            snippet = textwrap.shorten(p.text, width=width * 2, placeholder=" ...")
            print(f"  [{i}] {p.title or p.doc_id}  (score {hit.score:.3f}, id {p.id})", file=out)
            print(textwrap.indent(textwrap.fill(snippet, width=width), "      "), file=out)


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_device(parser) -> None:
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda when present)")
