"""`ragadapt` command line. Each sub-command lives in its own module; heavy imports happen inside run()."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ragadapt.cli import agent, ask, build, demo, evaluate, serve, system, train

COMMANDS = {"demo": demo, "build": build, "ask": ask, "agent": agent, "eval": evaluate, "train": train,
            "system": system, "serve": serve}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragadapt",
        description="Build a retrieval-augmented system from a corpus, ask it questions, evaluate it.",
        epilog="Run `ragadapt COMMAND --help` for the options of a command.",
    )
    from ragadapt import __version__

    parser.add_argument("--version", action="version", version=f"ragadapt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    # `key=value` overrides may come before or after options (argparse stops a positional list at an option)
    overrides = [a for a in extra if "=" in a and not a.startswith("-")]
    if overrides and hasattr(args, "overrides"):
        args.overrides = list(args.overrides) + overrides
        extra = [a for a in extra if a not in overrides]
    if extra and hasattr(args, "question"):  # `ask SYSTEM -k 1 "question"`: words after the options
        args.question = list(args.question or []) + [a for a in extra if not a.startswith("-")]
        extra = [a for a in extra if a.startswith("-")]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "sentence_transformers", "transformers", "faiss", "bm25s", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not args.verbose:  # weight-loading bars of transformers; our own bars (embedding, eval) stay
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from ragadapt.errors import RagadaptError

    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except RagadaptError as e:
        print(f"ragadapt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
