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


def evaluate_agent(agent, examples: Sequence[QAExample], batch: int = 32, show_progress: bool = True):
    """(scores and trajectory statistics, trajectories); questions run `batch` at a time."""
    from tqdm.auto import tqdm

    trajectories: list[Trajectory] = []
    with tqdm(total=len(examples), desc=f"agent ({agent.workflow})", unit="q", disable=not show_progress) as bar:
        for start in range(0, len(examples), batch):
            part = examples[start:start + batch]
            trajectories += agent.run([e.question for e in part])
            bar.update(len(part))
    return {**score_answers(trajectories, examples), **summarize(trajectories)}, trajectories
