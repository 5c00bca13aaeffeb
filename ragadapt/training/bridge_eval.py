"""Passage-selection strategies compared on the same questions and candidates: which passages should the
frozen generator see? top-1, top-k, the reranker's top-1, and each bridge; answer accuracy and the mean
number of passages passed, on the held-out questions and the hand-written dev set."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from ragadapt.eval.metrics import paired
from ragadapt.jsonl import write_jsonl
from ragadapt.report import write_report
from ragadapt.types import Hit, QAExample

log = logging.getLogger(__name__)

# (questions, candidates per question) -> the passages given to the generator, per question
Strategy = Callable[[Sequence[str], Sequence[Sequence[Hit]]], list[list[Hit]]]


def load_reranker(path: str | None):
    """A reranker from a system directory (its `reranker/`) or a reranker directory; None when `path` is
    empty or missing (the comparison row is optional, so a missing one is logged, not fatal)."""
    if not path:
        return None
    directory = Path(path)
    if (directory / "reranker").is_dir():
        directory = directory / "reranker"
    if not directory.is_dir():
        log.warning("reranker row skipped: %s not found (train one with `ragadapt train reranker`)", path)
        return None
    from ragadapt.retrievers.reranker import CrossEncoderReranker

    return CrossEncoderReranker.load(directory)


def strategies(k: int, bridges: dict | None = None, reranker=None) -> dict[str, Strategy]:
    out: dict[str, Strategy] = {"top-1": lambda qs, hs: [list(h[:1]) for h in hs],
                                f"top-{k}": lambda qs, hs: [list(h[:k]) for h in hs]}
    if reranker is not None:
        out["reranker (top-1)"] = lambda qs, hs: [r[:1] for r in reranker.rerank(list(qs), [list(h) for h in hs])]
    for name, bridge in (bridges or {}).items():
        out[name] = bridge.select_batch
    return out


def answer_rows(generator, prompt, examples: Sequence[QAExample], chosen: Sequence[Sequence[Hit]],
                batch_size: int = 8, max_new_tokens: int = 48) -> list[dict]:
    """Per question: the passages given, the generator's answer and its contains / EM / F1."""
    from ragadapt.eval.metrics import answer_contains, exact_match, f1_score

    messages = [prompt.messages(e.question, c, generator.count_tokens) for e, c in zip(examples, chosen)]
    preds = generator.generate(messages, max_new_tokens=max_new_tokens, batch_size=batch_size)
    return [{"question": e.question, "passages": [h.passage.id for h in c], "prediction": p,
             "contains": float(answer_contains(p, e.answers)), "em": float(exact_match(p, e.answers)),
             "f1": float(f1_score(p, e.answers))} for e, c, p in zip(examples, chosen, preds)]


def summarize(rows: Sequence[dict]) -> dict:
    """Answer contains / EM / F1 and the mean passages passed, over questions."""
    n = max(1, len(rows))
    return {**{m: sum(r[m] for r in rows) / n for m in ("contains", "em", "f1")},
            "passages": sum(len(r["passages"]) for r in rows) / n, "n": len(rows)}


def not_top1_first(hits: Sequence[Sequence[Hit]], chosen: Sequence[Sequence[Hit]]) -> float:
    """Share of questions whose selection does not start with the retriever's first passage (empty included):
    how often a strategy overrides the retriever's ranking at all."""
    def overrides(h, c):
        return bool(h) and (not c or c[0].passage.id != h[0].passage.id)

    return sum(overrides(h, c) for h, c in zip(hits, chosen)) / max(1, len(hits))


def compare(generator, prompt, splits: dict[str, tuple[list[QAExample], list[list[Hit]]]],
            selectors: dict[str, Strategy], bridges: dict, out: Path, batch_size: int = 8,
            provenance: dict | None = None, max_new_tokens: int = 48) -> dict:
    """{split: {strategy: scores}}; writes report.json, report.md and every answer (predictions.jsonl) under
    `out`; each bridge's scores carry a paired comparison with every other strategy (`vs`)."""
    from ragadapt.bridges.bgm import BridgeStats

    report: dict[str, dict] = {}
    predictions = []
    for split, (examples, hits) in splits.items():
        report[split], rows = {}, {}
        for name, select in selectors.items():
            if name in bridges:
                bridges[name].stats = BridgeStats()
            chosen = select([e.question for e in examples], hits)
            rows[name] = answer_rows(generator, prompt, examples, chosen, batch_size, max_new_tokens)
            report[split][name] = summarize(rows[name])
            report[split][name]["not_top1_first"] = not_top1_first(hits, chosen)
            if name in bridges:
                report[split][name]["fallbacks"] = bridges[name].stats.fallbacks
                report[split][name]["vs"] = {other: paired(rows[name], rows[other]) for other in rows if other != name}
            predictions += [{"split": split, "strategy": name, **r} for r in rows[name]]
            log.info("%s / %s: %s", split, name, report[split][name])
    write_jsonl(out / "predictions.jsonl", predictions)
    table = markdown(report)
    write_report(out, report, table, provenance)
    print(table)
    return report


def markdown(report: dict) -> str:
    lines = ["| split | passages given to the generator | n | answer contains | EM | F1 | passages passed (mean) | "
             "first passage not the retriever's top-1 |", "|---|---|---|---|---|---|---|---|"]
    for split, rows in report.items():
        lines += [f"| {split} | {name} | {r['n']} | {100 * r['contains']:.1f} | {100 * r['em']:.1f} | "
                  f"{100 * r['f1']:.1f} | {r['passages']:.2f} | {100 * r.get('not_top1_first', 0.0):.1f}% |" for name, r in rows.items()]
    lines += ["", "Paired, answer contains: questions right only with the bridge / only with the other strategy "
              "(two-sided sign-test p).", "", "| split | bridge | vs | right only with the bridge | "
              "right only with the other | p |", "|---|---|---|---|---|---|"]
    for split, rows in report.items():
        lines += [f"| {split} | {name} | {other} | {c['only_a']} | {c['only_b']} | {c['p']:.2f} |"
                  for name, r in rows.items() for other, c in r.get("vs", {}).items()]
    return "\n".join(lines)
