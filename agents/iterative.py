"""Iterative retrieval (ITER-RETGEN, Shao et al., 2023): retrieve, draft an answer from what was found,
retrieve again with the question plus the draft, so that each new query carries what the last round
learned (the bridge entity of a two-hop question, typically). Stops early for a question whose new query
finds nothing new; the final answer reads every passage gathered, newest round first."""

from __future__ import annotations

from collections.abc import Sequence

from ragadapt.agents.common import answer_with_passages, ids, is_empty, merge_hits
from ragadapt.agents.trajectory import Step, Trajectory
from ragadapt.types import Hit


class IterativeRetrieval:
    workflow = "iterative"

    def __init__(self, generator, retriever, k: int = 3, rounds: int = 3, max_passages: int = 5,
                 max_new_tokens: int = 32, batch_size: int = 8):
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        self.generator, self.retriever, self.k, self.rounds = generator, retriever, k, rounds
        self.max_passages, self.max_new_tokens, self.batch_size = max_passages, max_new_tokens, batch_size

    @classmethod
    def over(cls, system, **kwargs) -> IterativeRetrieval:
        return cls(system.generator, system.retriever, **{"k": system.config.k, **kwargs})

    def _search(self, queries: list[str]) -> list[list[Hit]]:
        return [[] for _ in queries] if is_empty(self.retriever) else self.retriever.search(queries, self.k)

    def run(self, questions: Sequence[str]) -> list[Trajectory]:
        questions = list(questions)
        trajectories = [Trajectory(q, self.workflow) for q in questions]
        rounds: list[list[list[Hit]]] = [[] for _ in questions]  # per question: hits of each round
        queries, active = list(questions), list(range(len(questions)))
        for r in range(self.rounds):
            found = self._search([queries[i] for i in active])
            still = []
            for i, hits in zip(active, found):
                known = {p for hs in rounds[i] for p in ids(hs)}
                new = [h for h in hits if h.passage.id not in known]
                trajectories[i].steps.append(Step("retrieve", tool="search", args={"query": queries[i], "k": self.k},
                                                  observation=f"{len(new)} new passages", passages=ids(new)))
                if new:
                    rounds[i].append(new)
                    still.append(i)
            active = still
            if r == self.rounds - 1 or not active:
                break
            drafts = answer_with_passages(self.generator, [questions[i] for i in active],
                                          [self.context(rounds[i]) for i in active],
                                          max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)
            for i, draft in zip(active, drafts):
                trajectories[i].steps.append(Step("draft", draft, completion_tokens=self.generator.count_tokens(draft)))
                queries[i] = f"{questions[i]} {draft}"
        answers = answer_with_passages(self.generator, questions, [self.context(r) for r in rounds],
                                       max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)
        for t, r, answer in zip(trajectories, rounds, answers):
            t.steps.append(Step("answer", answer, passages=ids(self.context(r)),
                                completion_tokens=self.generator.count_tokens(answer)))
            t.answer, t.stop = answer, "done"
        return trajectories

    def context(self, rounds: list[list[Hit]]) -> list[Hit]:
        """The passages the generator reads: newest round first (what the latest query found is what the
        draft could not answer from), at most `max_passages`."""
        return merge_hits(*reversed(rounds), limit=self.max_passages)
