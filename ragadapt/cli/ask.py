"""ragadapt ask: answer questions with a saved system (interactive when no question is given)."""

from __future__ import annotations

HELP = "answer questions with a saved system"


def add_parser(sub) -> None:
    from ragadapt.cli.common import add_components, add_device

    p = sub.add_parser("ask", help=HELP, description=HELP + "; with no QUESTION, reads questions interactively.")
    p.add_argument("system", help="directory written by `ragadapt build`")
    p.add_argument("question", nargs="*", help="question(s); each argument is one question")
    p.add_argument("-k", type=int, default=None, help="passages given to the generator (default: as saved)")
    p.add_argument("--no-passages", action="store_true", help="print only the answers")
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.add_argument("--max-new-tokens", type=int, default=None, help="answer length limit (default: as saved)")
    add_components(p)
    add_device(p)


def run(args) -> int:
    import json
    import sys

    from ragadapt.cli.common import load_system, print_answer

    system = load_system(args)
    if args.max_new_tokens:
        system.config.max_new_tokens = args.max_new_tokens

    def show(questions):
        for answer in system.answer(questions, k=args.k):
            if args.json:
                print(json.dumps(answer.to_dict(), ensure_ascii=False))
            else:
                print_answer(answer, show_passages=not args.no_passages)

    if args.question:
        show(args.question)
        return 0
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("question> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and not line:
            break
        if line.strip() in ("exit", "quit"):
            break
        if line.strip():
            show([line.strip()])
    return 0
