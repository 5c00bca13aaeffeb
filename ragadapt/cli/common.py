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


def add_components(parser, generator: bool = True) -> None:
    """Options that swap a component of a saved system for this command only (the system is not changed)."""
    g = parser.add_argument_group("components (try another component on the saved system)")
    if generator:
        g.add_argument("--generator", action="append", default=None, metavar="NAME_OR_DIR",
                       help="generator to answer with instead of the system's: a bundled alias, a model or training "
                            "output directory, or a hub id")
    g.add_argument("--retriever", default=None, metavar="DIR_OR_URL",
                   help="a saved retriever directory (e.g. OTHER_SYSTEM/retriever) instead of the system's, or the "
                        "URL of one served by `ragadapt serve` (http://HOST:PORT)")
    g.add_argument("--bridge", default=None, metavar="DIR", help="a saved bridge directory instead of the system's")
    g.add_argument("--no-verify", action="store_true",
                   help="skip checking the files' checksums against the manifest (sizes are still checked)")


def load_system(args, generator: bool = True):
    """The saved system of `args.system`, with the components named by add_components' options."""
    import os

    from ragadapt.errors import DataFormatError
    from ragadapt.system import RAGSystem

    if getattr(args, "no_verify", False):
        os.environ["RAGADAPT_VERIFY"] = "0"
    names = getattr(args, "generator", None) or []
    if len(names) > 1:
        raise DataFormatError("give one --generator here (several are compared only with --faithfulness)")
    gen = names[0] if names and generator else generator
    return RAGSystem.load(args.system, generator=gen, device=args.device, retriever=getattr(args, "retriever", None),
                          bridge=getattr(args, "bridge", None))


def prepare_out(out, overwrite: bool, what: str = "results"):
    """An output directory for a command's results: refused when it already holds results unless `overwrite`
    (then it says what it replaces). Returns the Path."""
    from pathlib import Path

    from ragadapt.errors import DataFormatError

    out = Path(out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise DataFormatError(f"{out} already holds {what} ({', '.join(sorted(p.name for p in out.iterdir())[:4])}"
                                  "); pass --overwrite to replace them, or choose another --out")
        print(f"replacing the {what} in {out} (--overwrite)", file=sys.stderr)
    return out
