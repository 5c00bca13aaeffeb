"""Evaluate a RAGSystem on QA examples: answer quality (EM, F1, contains) and retrieval quality
(recall@k, MRR, nDCG). Writes per-example JSONL and a JSON summary."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ragadapt.eval.metrics import (
    answer_contains, exact_match, f1_score, is_abstention, mrr, ndcg_at_k, recall_at_k, strict_contains,
)
from ragadapt.jsonl import write_jsonl
from ragadapt.report import write_report
from ragadapt.types import Hit, QAExample


def relevance(example: QAExample, hits: Sequence[Hit]) -> tuple[list[bool], int | None]:
    """Relevance of each hit, and the number of relevant items (None when judged by answer containment).

    With gold passage ids or document ids, a hit is relevant when it matches a gold item not already
    matched higher up (two chunks of one gold document count once). Without gold labels a passage is
    relevant when it contains a reference answer (the DPR/FlashRAG convention).
    """
    gold_ids, gold_docs = set(example.gold_ids), set(example.gold_doc_ids)
    if not gold_ids and not gold_docs:
        return [bool(answer_contains(h.passage.contents, example.answers)) for h in hits], None
    matched: set[str] = set()
    flags = []
    for h in hits:
        key = h.passage.id if h.passage.id in gold_ids else (h.passage.doc_id if h.passage.doc_id in gold_docs else None)
        flags.append(key is not None and key not in matched)
        if key is not None:
            matched.add(key)
    return flags, len(gold_ids) + len(gold_docs)


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(sum(values) / len(values), 4) if values else float("nan")


def evaluate(system, examples: Sequence[QAExample], ks: Sequence[int] = (1, 5, 10), out_dir: str | Path | None = None,
             retrieval_only: bool = False, batch_size: int | None = None, show_progress: bool = True,
             provenance: dict | None = None) -> dict:
    """Run the system on `examples`; return the summary (also written to out_dir/report.json, with
    `provenance` when given: see ragadapt.provenance.run_info)."""
    from tqdm.auto import tqdm

    ks = sorted(set(ks))
    batch_size = batch_size or system.config.batch_size
    rows: list[dict] = []
    start = time.perf_counter()
    bar = tqdm(total=len(examples), desc="evaluating", unit="q", disable=not show_progress)
    for i in range(0, len(examples), batch_size):
        batch = list(examples[i:i + batch_size])
        questions = [e.question for e in batch]
        hits = system.retrieve(questions, max(ks + [system.config.fetch_k if system.bridge else system.config.k]))
        answers = None if retrieval_only else system.answer_from_hits(questions, hits)
        for j, (ex, hs) in enumerate(zip(batch, hits)):
            flags, n_rel = relevance(ex, hs)
            row = {"id": ex.id, "question": ex.question, "answers": ex.answers,
                   "relevance": "answer containment" if n_rel is None else "gold ids",
                   "retrieved": [h.passage.id for h in hs[: max(ks)]],
                   "relevant_ranks": [r + 1 for r, f in enumerate(flags) if f]}
            row.update({f"recall@{k}": recall_at_k(flags, k, n_rel) for k in ks})
            row["mrr"] = mrr(flags, max(ks))
            row[f"ndcg@{max(ks)}"] = ndcg_at_k(flags, max(ks), n_rel)
            if answers is not None:
                pred = answers[j].text
                row.update(prediction=pred, passages_used=[h.passage.id for h in answers[j].hits],
                           em=exact_match(pred, ex.answers), f1=f1_score(pred, ex.answers),
                           contains=answer_contains(pred, ex.answers),
                           strict=strict_contains(pred, ex.answers, ex.question), abstained=is_abstention(pred))
            rows.append(row)
        bar.update(len(batch))
    bar.close()
    elapsed = time.perf_counter() - start
    for row in rows:
        if "passages_used" in row:
            row["n_passages"] = len(row["passages_used"])
    answer_keys = [] if retrieval_only else ["em", "f1", "contains", "strict", "abstained", "n_passages"]
    metric_keys = answer_keys + [f"recall@{k}" for k in ks] + ["mrr", f"ndcg@{max(ks)}"]
    modes = {mode: sum(r["relevance"] == mode for r in rows) for mode in ("gold ids", "answer containment")}
    summary = {"n": len(rows), **{key: _mean(rows, key) for key in metric_keys},
               "relevance": ", ".join(f"{n} by {mode}" for mode, n in modes.items() if n) or "none",
               "relevance_counts": modes,
               "seconds": round(elapsed, 2), "questions_per_s": round(len(rows) / elapsed, 3) if elapsed else None}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / "predictions.jsonl", rows)
        write_report(out, summary, provenance=provenance)
    return summary
