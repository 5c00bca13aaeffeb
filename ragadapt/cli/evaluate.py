"""ragadapt eval: answer and retrieval metrics of a saved system on a QA JSONL file."""

from __future__ import annotations

HELP = "evaluate a saved system on QA data (EM, F1, contains, recall@k, MRR, nDCG)"


def add_parser(sub) -> None:
    from ragadapt.cli.common import add_device

    p = sub.add_parser("eval", help=HELP, description=HELP + ". Writes predictions.jsonl and report.json.")
    p.add_argument("system", help="directory written by `ragadapt build`")
    p.add_argument("--data", default=None,
                   help="JSONL of {question, answers|answer, gold_ids?, gold_doc_ids?}; default: the bundled "
                        "Wikipedia dev questions (for systems built on `wiki`)")
    p.add_argument("--out", default=None, help="report directory (default: SYSTEM/eval)")
    p.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10], help="cut-offs for recall@k (default: 1 5 10)")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N examples only")
    p.add_argument("--retrieval-only", action="store_true", help="skip generation; retrieval metrics only")
    p.add_argument("--batch-size", type=int, default=None, help="questions per batch (default: as saved)")
    add_device(p)


def run(args) -> int:
    import json
    from pathlib import Path

    from ragadapt.corpora.wiki_qa import default_qa_path
    from ragadapt.eval import evaluate, load_qa_jsonl
    from ragadapt.system import RAGSystem

    examples = load_qa_jsonl(args.data or default_qa_path())[: args.limit]
    system = RAGSystem.load(args.system, generator=not args.retrieval_only, device=args.device)
    out = Path(args.out) if args.out else Path(args.system) / "eval"
    summary = evaluate(system, examples, ks=args.ks, out_dir=out, retrieval_only=args.retrieval_only,
                       batch_size=args.batch_size)
    print(json.dumps(summary, indent=2))
    print(f"per-example results: {out / 'predictions.jsonl'}")
    return 0
