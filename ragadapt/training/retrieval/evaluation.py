"""Before/after evaluation of an adapted system: retrieval on every held-out question, answers end to
end on the first `max_answer_eval`, the same on the hand-written dev set; one markdown table."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path


log = logging.getLogger(__name__)

COLUMNS = ("recall@1", "recall@5", "recall@20", "mrr", "contains", "strict", "f1")


def dev_examples(dev_set: str | None):
    from ragadapt.eval.data import load_qa_jsonl

    if not dev_set:
        return []
    from ragadapt.corpora.wiki_qa import default_qa_path, parse_name

    if dev_set == "bundled":
        dev_set = str(default_qa_path())
    named = parse_name(dev_set)  # dev-select / dev-test (:1 or :2 for one- or two-hop only)
    return named if named is not None else load_qa_jsonl(dev_set)


def dev_sets(spec: str | None) -> dict[str, list]:
    """`dev-select,dev-test` (the default of the routines), `bundled`, a .jsonl, or a comma list of them ->
    {name: examples}; each is reported as its own split."""
    if not spec:
        return {}
    names = [s.strip() for s in spec.split(",") if s.strip()]
    return {("dev" if name == "bundled" else name): dev_examples(name) for name in names}


def evaluate_stage(system, generator, test, dev, answer_k: int, max_answer_eval: int, out_dir: Path,
                   max_new_tokens: int | None = None) -> dict:
    """{split: summary} for `system` (its retriever, reranker and bridge) answering with `generator`. `dev` is
    a list (one split named dev) or {name: examples} (one split each: dev-select, dev-test). A scorer in bf16
    answers as the system serves it (`served()`: fp32 on a CPU) and writes as many tokens as the system's
    `max_new_tokens` (unless told fewer), so these rows are what `ragadapt eval` gives."""
    from ragadapt.eval.runner import evaluate
    from ragadapt.generation.base import as_served
    from ragadapt.system import RAGSystem

    generator = as_served(generator)

    config = replace(system.config, k=answer_k, max_new_tokens=max_new_tokens or system.config.max_new_tokens)
    rag = RAGSystem(system.retriever, generator, reranker=system.reranker, bridge=system.bridge, config=config)
    out = {}
    extra = dev.items() if isinstance(dev, dict) else [("dev", dev)]
    for split, examples in [("test", test), *extra]:
        if not examples:
            continue
        retrieval = evaluate(rag, examples, ks=(1, 5, 20), retrieval_only=True, show_progress=False)
        answers = evaluate(rag, examples[:max_answer_eval], ks=(answer_k,), out_dir=out_dir / split,
                           show_progress=False) if generator is not None and max_answer_eval > 0 else {}
        out[split] = {**{k: retrieval[k] for k in ("n", "recall@1", "recall@5", "recall@20", "mrr")},
                      **{k: answers[k] for k in ("contains", "strict", "em", "f1", "abstained") if k in answers},
                      "answered": answers.get("n", 0), "predictions": str(out_dir / split / "predictions.jsonl")}
        log.info("%s %s: %s", out_dir.name, split, out[split])
    return out


def markdown_table(stages: dict[str, dict]) -> str:
    """One row per (stage, split), metrics in percent."""
    lines = ["| stage | split | n | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 3) + "|"]
    for stage, splits in stages.items():
        for split, m in splits.items():
            cells = [f"{100 * m[c]:.1f}" if isinstance(m.get(c), float) else "-" for c in COLUMNS]
            lines.append(f"| {stage} | {split} | {m['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rows(path: str | None) -> list[dict]:
    if not path or not Path(path).is_file():
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def gates(stages: dict[str, dict], tolerance: float = 0.01) -> dict:
    """Each later stage against the first ("before") on every split: paired counts of answer-contains with a sign
    test, and the no-regression gate (not more than `tolerance` below base on answers and on recall@1)."""
    from ragadapt.eval.metrics import paired

    names = list(stages)
    if len(names) < 2:
        return {}
    base = stages[names[0]]
    out: dict[str, dict] = {}
    for name in names[1:]:
        for split, m in stages[name].items():
            b = base.get(split)
            if not b:
                continue
            row = {"recall@1": round(m["recall@1"] - b["recall@1"], 4)}
            if "contains" in m and "contains" in b:
                row["contains"] = round(m["contains"] - b["contains"], 4)
                row["paired"] = paired(_rows(m.get("predictions")), _rows(b.get("predictions")))
            row["passes"] = all(row[k] >= -tolerance for k in ("recall@1", "contains") if k in row)
            out.setdefault(name, {})[split] = row
    return out


def gate_table(checks: dict) -> str:
    lines = ["| stage | split | recall@1 vs base | contains vs base | right only after / only before (p) | "
             "no-regression (<= 1 point below base) |", "|---|---|---|---|---|---|"]
    for name, splits in checks.items():
        for split, r in splits.items():
            pair = r.get("paired")
            pair_text = f"{pair['only_a']} / {pair['only_b']} ({pair['p']:.2f})" if pair else "-"
            contains = f"{100 * r['contains']:+.1f}" if "contains" in r else "-"
            lines.append(f"| {name} | {split} | {100 * r['recall@1']:+.1f} | {contains} | {pair_text} | "
                         f"{'pass' if r['passes'] else 'FAIL'} |")
    return "\n".join(lines)


def write_gated_report(out_dir: Path, stages: dict[str, dict], extra: dict | None = None, config=None) -> str:
    """report.json/report.md of a routine's before/after stages with the no-regression gates; returns the table."""
    import dataclasses

    from ragadapt.provenance import run_info
    from ragadapt.report import write_report

    settings = {"config": dataclasses.asdict(config)} if dataclasses.is_dataclass(config) else {}

    checks = gates(stages)
    table = markdown_table(stages) + ("\n\n" + gate_table(checks) if checks else "")
    write_report(out_dir, {"stages": stages, "gates": checks, **(extra or {})}, table, run_info(**settings))
    return table
