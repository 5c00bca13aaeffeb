"""Before/after evaluation of an adapted system: retrieval on every held-out question, answers end to
end on the first `max_answer_eval`, the same on the hand-written dev set; one markdown table."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from ragadapt.atomic import atomic_write_text

log = logging.getLogger(__name__)

COLUMNS = ("recall@1", "recall@5", "recall@20", "mrr", "contains", "f1")


def dev_examples(dev_set: str | None):
    from ragadapt.eval.data import load_qa_jsonl

    if not dev_set:
        return []
    from ragadapt.corpora.wiki_qa import default_qa_path, parse_name

    if dev_set == "bundled":
        dev_set = str(default_qa_path())
    named = parse_name(dev_set)  # dev-select / dev-test (:1 or :2 for one- or two-hop only)
    return named if named is not None else load_qa_jsonl(dev_set)


def evaluate_stage(system, generator, test, dev, answer_k: int, max_answer_eval: int, out_dir: Path) -> dict:
    """{split: summary} for `system` (its retriever, reranker and bridge) answering with `generator`."""
    from ragadapt.eval.runner import evaluate
    from ragadapt.system import RAGSystem

    config = replace(system.config, k=answer_k, max_new_tokens=24)
    rag = RAGSystem(system.retriever, generator, reranker=system.reranker, bridge=system.bridge, config=config)
    out = {}
    for split, examples in (("test", test), ("dev", dev)):
        if not examples:
            continue
        retrieval = evaluate(rag, examples, ks=(1, 5, 20), retrieval_only=True, show_progress=False)
        answers = evaluate(rag, examples[:max_answer_eval], ks=(answer_k,), out_dir=out_dir / split,
                           show_progress=False) if generator is not None and max_answer_eval > 0 else {}
        out[split] = {**{k: retrieval[k] for k in ("n", "recall@1", "recall@5", "recall@20", "mrr")},
                      **{k: answers[k] for k in ("contains", "em", "f1") if k in answers},
                      "answered": answers.get("n", 0)}
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


def write_report(out_dir: Path, stages: dict[str, dict], extra: dict | None = None) -> str:
    table = markdown_table(stages)
    atomic_write_text(out_dir / "report.json", json.dumps({"stages": stages, **(extra or {})}, indent=2))
    atomic_write_text(out_dir / "report.md", table + "\n")
    return table
