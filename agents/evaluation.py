"""Answer accuracy of a workflow on QA examples, with the trajectory statistics that explain it
(searches per question, format errors, fallbacks, tokens)."""

from __future__ import annotations

from collections.abc import Sequence

from ragadapt.agents.trajectory import Trajectory, summarize
from ragadapt.types import QAExample


def score_answers(trajectories: Sequence[Trajectory], examples: Sequence[QAExample]) -> dict[str, float]:
    from ragadapt.eval.metrics import answer_contains, exact_match, f1_score

    n = max(1, len(examples))
    pairs = list(zip(trajectories, examples))
    return {"n": len(examples),
            "contains": sum(answer_contains(t.answer, e.answers) for t, e in pairs) / n,
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
    return scores, trajectories
