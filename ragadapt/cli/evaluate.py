"""ragadapt eval: answer and retrieval metrics of a saved system on a QA JSONL file."""

from __future__ import annotations

from ragadapt.jsonl import write_jsonl
from ragadapt.report import write_report

HELP = "evaluate a saved system on QA data (EM, F1, contains, strict contains, recall@k, MRR, nDCG)"


def add_parser(sub) -> None:
    from ragadapt.cli.common import add_components, add_device

    p = sub.add_parser("eval", help=HELP, description=HELP + ". Writes predictions.jsonl and report.json. "
                       "With --faithfulness: per-category faithfulness of one or more generators on fixed "
                       "contexts (clean, noisy, counterfactual, unanswerable, conflicting), side by side.")
    p.add_argument("system", nargs="?", default=None,
                   help="directory written by `ragadapt build` (optional with --faithfulness and --generator)")
    p.add_argument("--data", default=None,
                   help="JSONL of {question, answers|answer, gold_ids?, gold_doc_ids?}, or a hand-written set "
                        "over the bundled Wikipedia by name: dev-select, dev-test (dev-test:1 / :2 for one- or "
                        "two-hop only); default: the bundled Wikipedia dev questions (for systems built on `wiki`)")
    p.add_argument("--out", default=None, help="report directory (default: runs/eval/SYSTEM_NAME-TIME; never inside "
                                               "the system, which a rebuild would replace)")
    p.add_argument("--overwrite", action="store_true", help="replace the results already in --out")
    p.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10], help="cut-offs for recall@k (default: 1 5 10)")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N examples only")
    p.add_argument("--retrieval-only", action="store_true", help="skip generation; retrieval metrics only")
    p.add_argument("--batch-size", type=int, default=None, help="questions per batch (default: as saved)")
    f = p.add_argument_group("faithfulness")
    f.add_argument("--faithfulness", action="store_true",
                   help="evaluate context faithfulness; --data is a contexts JSONL such as "
                        "OUTPUT_DIR/data/test.jsonl of `ragadapt train generator-contextual`")
    f.add_argument("--judge", default=None, help="a generator used as LLM judge of support by the context")
    f.add_argument("--general-texts", type=int, default=40,
                   help="held-out general texts for the forgetting check (0 to skip; default: 40)")
    add_components(p)
    add_device(p)


def default_out(system: str | None, kind: str = "eval"):
    import time
    from pathlib import Path

    name = Path(system).resolve().name if system else kind
    return Path("runs") / "eval" / f"{name}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_faithfulness(args) -> int:
    from pathlib import Path

    from ragadapt.errors import DataFormatError
    from ragadapt.eval.faithfulness import evaluate_faithfulness, markdown_table
    from ragadapt.generation import load_generator
    from ragadapt.training.contextual import general_texts, load_test

    if not args.data:
        raise DataFormatError("--faithfulness needs --data: a contexts JSONL (e.g. runs/contextual/data/test.jsonl)")
    from ragadapt.cli.common import prepare_out
    from ragadapt.provenance import run_info

    names = args.generator
    if not names:
        if not args.system:
            raise DataFormatError("give a system directory or --generator")
        from ragadapt.training.compose import generator_source

        names = [generator_source(args.system)]
    examples = load_test(Path(args.data))[: args.limit]
    out = prepare_out(args.out or default_out(args.system, "faithfulness"), args.overwrite)
    judge = load_generator(args.judge, device=args.device) if args.judge else None
    texts = general_texts(args.general_texts) if args.general_texts else []
    summaries, predictions = {}, []
    for name in names:
        summaries[name], rows = evaluate_faithfulness(load_generator(name, device=args.device), examples,
                                                      judge_generator=judge, general_texts=texts)
        predictions += [{"generator": name, **r} for r in rows]
    provenance = run_info({"data": args.data, "system": args.system}, generators=names, judge=args.judge,
                          limit=args.limit)
    table = markdown_table(summaries)
    from ragadapt.atomic import atomic_dir

    with atomic_dir(out) as tmp:  # both files or the old ones, whatever kills the process
        write_jsonl(tmp / "predictions.jsonl", predictions)
        write_report(tmp, {"summaries": summaries}, table, provenance)
    print(table)
    print(f"per-example results: {out / 'predictions.jsonl'}")
    return 0


def run(args) -> int:
    if args.faithfulness:
        return run_faithfulness(args)
    if not args.system:
        from ragadapt.errors import DataFormatError

        raise DataFormatError("give the system directory to evaluate")
    import json

    from ragadapt.corpora.wiki_qa import default_qa_path, handwritten_path, parse_name

    from ragadapt.cli.common import load_system, prepare_out
    from ragadapt.eval import evaluate, load_qa_jsonl
    from ragadapt.provenance import run_info

    data = args.data or str(default_qa_path())
    named = parse_name(data)  # a hand-written set by name: dev-select, dev-test (:1 / :2)
    examples = (named if named is not None else load_qa_jsonl(data))[: args.limit]
    out = prepare_out(args.out or default_out(args.system), args.overwrite)
    system = load_system(args, generator=not args.retrieval_only)
    source = handwritten_path() if named is not None else data
    provenance = run_info({"system": args.system, "data": source}, data=data, k=system.config.k,
                          fetch_k=system.config.fetch_k,
                          generator=None if args.retrieval_only else system.generator_ref or "stored in the system",
                          retriever=args.retriever, bridge=args.bridge, limit=args.limit, ks=args.ks)
    from ragadapt.atomic import atomic_dir

    with atomic_dir(out) as tmp:  # a killed evaluation leaves the old results (or none), never half of each
        summary = evaluate(system, examples, ks=args.ks, out_dir=tmp, retrieval_only=args.retrieval_only,
                           batch_size=args.batch_size, provenance=provenance)
    print(json.dumps(summary, indent=2))
    print(f"per-example results: {out / 'predictions.jsonl'}")
    return 0
