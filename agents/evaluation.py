"""Answer accuracy of a workflow on QA examples, with the trajectory statistics that explain it
(searches per question, format errors, fallbacks, tokens)."""

from __future__ import annotations

from collections.abc import Sequence

from ragadapt.agents.trajectory import Trajectory, summarize
from ragadapt.types import QAExample


def score_answers(trajectories: Sequence[Trajectory], examples: Sequence[QAExample]) -> dict[str, float]:
    """Mean answer contains, strict contains (no credit for naming every option), EM and F1."""
    from ragadapt.eval.metrics import answer_contains, exact_match, f1_score, strict_contains

    n = max(1, len(examples))
    pairs = list(zip(trajectories, examples))
    return {"n": len(examples),
            "contains": sum(answer_contains(t.answer, e.answers) for t, e in pairs) / n,
            "strict": sum(strict_contains(t.answer, e.answers, e.question) for t, e in pairs) / n,
            "em": sum(exact_match(t.answer, e.answers) for t, e in pairs) / n,
            "f1": sum(f1_score(t.answer, e.answers) for t, e in pairs) / n}


def document_of(passage_id: str) -> str:
    """The document a chunk id belongs to (`doc#i`, as the chunker names them)."""
    return passage_id.rsplit("#", 1)[0]


def gold_document_recall(trajectories: Sequence[Trajectory], examples: Sequence[QAExample]) -> float | None:
    """Mean share of each question's gold documents that some step of its trajectory retrieved (for a two-hop
    question: did the agent reach the second article?); None when no example names gold documents."""
    pairs = [(t, e) for t, e in zip(trajectories, examples) if e.gold_doc_ids]
    if not pairs:
        return None
    total = 0.0
    for t, e in pairs:
        seen = {document_of(p) for step in t.steps for p in step.passages}
        total += sum(d in seen for d in e.gold_doc_ids) / len(e.gold_doc_ids)
    return total / len(pairs)


def kind_of(example: QAExample) -> str | None:
    """A question's kind: the hand-written sets' `kind` (comparison, bridge, yes-no...) or a recipe's `style`."""
    return example.meta.get("kind") or example.meta.get("style")


def answers_by_kind(trajectories: Sequence[Trajectory], examples: Sequence[QAExample]) -> dict[str, dict]:
    """{kind: {n, contains, strict}}: which shapes of question a workflow answers (empty when no example has a
    kind)."""
    groups: dict[str, list] = {}
    for t, e in zip(trajectories, examples):
        if (kind := kind_of(e)) is not None:
            groups.setdefault(kind, []).append((t, e))
    return {kind: {k: v for k, v in score_answers(*zip(*pairs)).items() if k in ("n", "contains", "strict")}
            for kind, pairs in sorted(groups.items())}


def evaluate_agent(agent, examples: Sequence[QAExample], batch: int = 32, show_progress: bool = True):
    """(scores and trajectory statistics, trajectories); questions run `batch` at a time."""
    from tqdm.auto import tqdm

    trajectories: list[Trajectory] = []
    with tqdm(total=len(examples), desc=f"agent ({agent.workflow})", unit="q", disable=not show_progress) as bar:
        for start in range(0, len(examples), batch):
            part = examples[start:start + batch]
            trajectories += agent.run([e.question for e in part])
            bar.update(len(part))
    scores = {**score_answers(trajectories, examples), **summarize(trajectories)}
    recall = gold_document_recall(trajectories, examples)
    if recall is not None:
        scores["gold_doc_recall"] = recall
    if by_kind := answers_by_kind(trajectories, examples):
        scores["by_kind"] = by_kind
    return scores, trajectories
