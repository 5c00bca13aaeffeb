"""Faithfulness evaluation (FaithEval-style): does the generator follow its context?

Per category of `ContextExample`:
  answerable (clean, noisy)  EM / F1 / contains against the answer; false-abstention rate
  unanswerable               abstention rate (the answer says it does not know)
  counterfactual             context-following rate (the edited answer is given) and parametric rate
                             (the original, memorised answer is given instead)
  conflicting                conflict-detection rate (both versions named, or the disagreement stated)
Plus a forgetting check (mean token NLL on held-out general text) and an optional LLM judge whose
"supported by the context" verdicts are reported next to the string metrics with their agreement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragadapt.corpora.contexts import ContextExample
from ragadapt.eval.metrics import answer_contains, exact_match, f1_score, is_abstention, normalize_answer  # noqa: F401
from ragadapt.prompts import RAGPrompt
from ragadapt.types import Hit

_CONFLICT = re.compile(r"\b(disagree|conflict|contradict|inconsistent|differ)", re.IGNORECASE)


def detects_conflict(text: str, original: str, edited: str) -> bool:
    both = answer_contains(text, [original]) and answer_contains(text, [edited])
    return bool(both or _CONFLICT.search(text))


def score(example: ContextExample, prediction: str) -> dict:
    """String metrics of one prediction; `faithful` is the category's pass/fail verdict."""
    row = {"kind": example.kind, "abstained": is_abstention(prediction)}
    if example.kind in ("clean", "noisy"):
        row.update(em=exact_match(prediction, example.answers), f1=f1_score(prediction, example.answers),
                   contains=answer_contains(prediction, example.answers))
        row["faithful"] = bool(row["contains"])
    elif example.kind == "unanswerable":
        row["faithful"] = row["abstained"]
    elif example.kind == "counterfactual":
        row["follows"] = bool(answer_contains(prediction, [example.edited]))
        row["parametric"] = bool(answer_contains(prediction, [example.original])) and \
            normalize_answer(example.original) not in normalize_answer(example.edited)
        row["faithful"] = row["follows"]
    else:
        row["faithful"] = detects_conflict(prediction, example.original, example.edited or "")
    return row


def prompts_for(examples: Sequence[ContextExample], prompt: RAGPrompt, count_tokens=None):
    return [prompt.messages(e.question, [Hit(p, 0.0, i) for i, p in enumerate(e.passages)], count_tokens)
            for e in examples]


def _rate(rows, kinds, key) -> float | None:
    values = [float(r[key]) for r in rows if r["kind"] in kinds and key in r]
    return round(sum(values) / len(values), 4) if values else None


def _reads_passage(rows: list[dict]) -> dict[str, bool]:
    """Per unanswerable row's question: abstained there while the same question over its clean passage is answered
    (not declined). A model that declines a question whatever the passage says scores here on neither; rows
    without a `question`, or without a clean row of their question, count as not reading it."""
    declined_clean = {r["question"]: r["abstained"] for r in rows if r["kind"] == "clean" and r.get("question")}
    return {r.get("question") or f"#{i}": bool(r["abstained"] and r.get("question") in declined_clean
                                               and not declined_clean[r["question"]])
            for i, r in enumerate(rows) if r["kind"] == "unanswerable"}


def _passage_abstention(rows: list[dict]) -> float | None:
    """Abstentions on unanswerable contexts that read the passage (`_reads_passage`)."""
    hits = list(_reads_passage(rows).values())
    return round(sum(hits) / len(hits), 4) if hits else None


def outcomes(rows: list[dict]) -> dict[str, dict[str, bool]]:
    """Per held-out example, what the gated rates count (answered an answerable context, declined one, abstained
    on an unanswerable one reading the passage, followed an edit), keyed by kind and question, so two models on
    the same contexts can be compared example by example (`paired_outcomes`)."""
    def by(kinds, key):
        return {f"{r['kind']}|{r.get('question')}": bool(r.get(key)) for r in rows if r["kind"] in kinds}

    return {"answerable_contains": by(("clean", "noisy"), "contains"),
            "false_abstention": by(("clean", "noisy"), "abstained"),
            "abstention_reads_passage": _reads_passage(rows),
            "counterfactual_following": by(("counterfactual",), "follows")}


def paired_outcomes(before: list[dict], after: list[dict]) -> dict[str, dict]:
    """For each gated rate: examples where only `after` counts, only `before` does, and the sign test's p."""
    from ragadapt.eval.metrics import paired

    a, b = outcomes(after), outcomes(before)
    out = {}
    for key in a:
        common = sorted(set(a[key]) & set(b[key]))
        counts = paired([{"v": a[key][k]} for k in common], [{"v": b[key][k]} for k in common], metric="v")
        out[key] = {"only_after": counts["only_a"], "only_before": counts["only_b"], "p": counts["p"]}
    return out


def summarize(rows: list[dict]) -> dict:
    answerable = ("clean", "noisy")
    out = {"n": len(rows), **{f"n_{k}": sum(r["kind"] == k for r in rows) for k in
                              ("clean", "noisy", "counterfactual", "unanswerable", "conflicting")}}
    out.update(
        answerable_em=_rate(rows, answerable, "em"), answerable_f1=_rate(rows, answerable, "f1"),
        answerable_contains=_rate(rows, answerable, "contains"),
        false_abstention=_rate(rows, answerable, "abstained"),
        abstention=_rate(rows, ("unanswerable",), "abstained"),
        abstention_reads_passage=_passage_abstention(rows),
        counterfactual_following=_rate(rows, ("counterfactual",), "follows"),
        counterfactual_parametric=_rate(rows, ("counterfactual",), "parametric"),
        conflict_detection=_rate(rows, ("conflicting",), "faithful"),
    )
    if any("judge_supported" in r for r in rows):
        judged = [r for r in rows if "judge_supported" in r]
        out["judge_supported"] = round(sum(r["judge_supported"] for r in judged) / len(judged), 4)
        out["judge_agreement"] = round(sum(r["judge_supported"] == r["faithful"] for r in judged) / len(judged), 4)
    return out


JUDGE_SYSTEM = ("You check answers against passages. Reply Yes if the answer is supported by the passages "
                "(or, when the passages do not contain the answer, if it says so), otherwise reply No.")


def judge(judge_generator, examples: Sequence[ContextExample], predictions: Sequence[str],
          batch_size: int = 8) -> list[bool]:
    """LLM-as-judge with any Generator: "Yes" vs "No" compared by log-likelihood (no parsing to fail)."""
    prompt = RAGPrompt(system=JUDGE_SYSTEM, max_prompt_tokens=1024)
    messages = []
    for e, pred, m in zip(examples, predictions, prompts_for(examples, prompt)):
        m[-1]["content"] += f"\nAnswer: {pred}\n\nIs the answer supported by the passages? Reply Yes or No."
        messages.append(m)
    yes = judge_generator.loglikelihood(messages, ["Yes"] * len(messages), batch_size=batch_size)
    no = judge_generator.loglikelihood(messages, ["No"] * len(messages), batch_size=batch_size)
    return [bool(y > n) for y, n in zip(yes.tolist(), no.tolist())]


def general_text_nll(generator, texts: Sequence[str], prefix_chars: int = 64, batch_size: int = 8) -> float:
    """Mean per-token negative log-likelihood of held-out general text (lower = less forgetting)."""
    prompts = [t[:prefix_chars] for t in texts]
    targets = [t[prefix_chars:] for t in texts]
    return round(float(-generator.loglikelihood(prompts, targets, reduction="mean", batch_size=batch_size).mean()), 4)


def evaluate_faithfulness(generator, examples: Sequence[ContextExample], prompt: RAGPrompt | None = None,
                          judge_generator=None, general_texts: Sequence[str] = (), max_new_tokens: int = 32,
                          batch_size: int = 8) -> tuple[dict, list[dict]]:
    """(summary, per-example rows) for one generator."""
    prompt = prompt or RAGPrompt()
    predictions = generator.generate(prompts_for(examples, prompt, generator.count_tokens),
                                     max_new_tokens=max_new_tokens, batch_size=batch_size)
    rows = [{"question": e.question, "target": e.target, "prediction": p, **score(e, p)}
            for e, p in zip(examples, predictions)]
    if judge_generator is not None:
        for row, verdict in zip(rows, judge(judge_generator, examples, predictions, batch_size)):
            row["judge_supported"] = verdict
    summary = summarize(rows)
    if general_texts:
        summary["general_nll"] = general_text_nll(generator, general_texts, batch_size=batch_size)
    return summary, rows


TABLE_ROWS = [("answerable_contains", "answerable accuracy (contains)"), ("answerable_em", "answerable EM"),
              ("answerable_f1", "answerable F1"), ("false_abstention", "false abstention (answerable)"),
              ("abstention", "abstention on unanswerable"),
              ("abstention_reads_passage", "abstention on unanswerable, its clean twin answered"),
              ("counterfactual_following", "counterfactual: follows context"),
              ("counterfactual_parametric", "counterfactual: parametric answer"),
              ("conflict_detection", "conflict detection"), ("judge_supported", "LLM judge: supported"),
              ("judge_agreement", "judge / string-metric agreement"), ("general_nll", "general-text NLL (forgetting)")]


def markdown_table(summaries: dict[str, dict]) -> str:
    """Side-by-side table (e.g. before / after training); rates in percent."""
    names = list(summaries)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in TABLE_ROWS:
        if not any(summaries[n].get(key) is not None for n in names):
            continue
        cells = []
        for n in names:
            v = summaries[n].get(key)
            cells.append("-" if v is None else (f"{v:.3f}" if key == "general_nll" else f"{100 * v:.1f}"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
