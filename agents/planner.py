"""Planner / worker / aggregator: the planner splits the question into numbered sub-questions that may
refer to earlier answers as #1, #2; workers answer them with retrieval, all sub-questions whose
dependencies are answered in one batch (across questions too); the aggregator composes the final answer
from the sub-answers and the passages the workers read.

A plan that does not parse, or has no sub-question, becomes the one-step plan "the question itself"
(recorded as `plan_fallback`). References to a later or unknown sub-question are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragadapt.agents.common import answer_with_passages, ids, is_empty, merge_hits, prompt_tokens
from ragadapt.agents.trajectory import Step, Trajectory
from ragadapt.types import Hit

PLANNER = ("Split the question into at most {n} simple sub-questions that can each be answered by looking up one "
           "fact. Write one per line, numbered. A sub-question may use the answer of an earlier one as #1, #2.\n"
           "Example: 'In which country was the inventor of the telephone born?' ->\n"
           "1. Who invented the telephone?\n2. In which country was #1 born?")
AGGREGATOR = ("Answer the question in a few words, using the answers to its sub-questions and the passages.\n\n"
              "{facts}\n\nQuestion: {question}")
_LINE = re.compile(r"^\s*(?:(?:step|q)\s*)?(\d+)\s*[.):-]\s*(.+?)\s*$", re.I | re.M)
_REF = re.compile(r"#(\d+)")


@dataclass
class SubQuestion:
    number: int
    text: str
    depends: set[int] = field(default_factory=set)
    answer: str = ""
    hits: list[Hit] = field(default_factory=list)


def parse_plan(text: str, max_subquestions: int) -> list[SubQuestion]:
    """Numbered lines -> sub-questions renumbered 1..n; only references to earlier ones are kept."""
    subs: list[SubQuestion] = []
    renumber: dict[int, int] = {}
    for m in _LINE.finditer(text):
        if len(subs) == max_subquestions:
            break
        written, body = int(m.group(1)), m.group(2)
        number = len(subs) + 1
        body = _REF.sub(lambda r: f"#{renumber[int(r.group(1))]}" if int(r.group(1)) in renumber else "", body)
        body = " ".join(body.split())
        if not body:
            continue
        renumber[written] = number
        subs.append(SubQuestion(number, body, {int(r) for r in _REF.findall(body)}))
    return subs


def levels(subs: list[SubQuestion]) -> list[list[SubQuestion]]:
    """Sub-questions grouped so that each group depends only on earlier groups (references point back,
    so this always terminates)."""
    depth: dict[int, int] = {}
    for s in subs:
        depth[s.number] = 1 + max((depth[d] for d in s.depends if d in depth), default=-1)
    return [[s for s in subs if depth[s.number] == lvl] for lvl in range(max(depth.values(), default=-1) + 1)]


def fill(text: str, answers: dict[int, str]) -> str:
    return _REF.sub(lambda r: answers.get(int(r.group(1)), r.group(0)), text)


class PlannerWorker:
    workflow = "planner"

    def __init__(self, generator, retriever, k: int = 3, max_subquestions: int = 3, max_new_tokens: int = 32,
                 plan_tokens: int = 96, max_passages: int = 5, batch_size: int = 8):
        self.generator, self.retriever, self.k = generator, retriever, k
        self.max_subquestions, self.max_new_tokens, self.plan_tokens = max_subquestions, max_new_tokens, plan_tokens
        self.max_passages, self.batch_size = max_passages, batch_size

    @classmethod
    def over(cls, system, **kwargs) -> PlannerWorker:
        return cls(system.generator, system.retriever, **{"k": system.config.k, **kwargs})

    def plan(self, questions: list[str], trajectories: list[Trajectory]) -> list[list[SubQuestion]]:
        prompts = [[{"role": "system", "content": PLANNER.format(n=self.max_subquestions)},
                    {"role": "user", "content": q}] for q in questions]
        texts = self.generator.generate(prompts, max_new_tokens=self.plan_tokens, batch_size=self.batch_size)
        plans = []
        for q, t, prompt, text in zip(questions, trajectories, prompts, texts):
            subs = parse_plan(text, self.max_subquestions)
            t.meta["plan_fallback"] = not subs
            subs = subs or [SubQuestion(1, q)]
            t.steps.append(Step("plan", text, observation="\n".join(f"{s.number}. {s.text}" for s in subs),
                                error=t.meta["plan_fallback"], prompt_tokens=prompt_tokens(self.generator, prompt),
                                completion_tokens=self.generator.count_tokens(text)))
            plans.append(subs)
        return plans

    def run(self, questions: Sequence[str]) -> list[Trajectory]:
        questions = list(questions)
        trajectories = [Trajectory(q, self.workflow) for q in questions]
        plans = self.plan(questions, trajectories)
        schedule = [levels(p) for p in plans]
        for depth in range(max(len(s) for s in schedule) if schedule else 0):
            batch = [(i, sub) for i, s in enumerate(schedule) if depth < len(s) for sub in s[depth]]
            self.work(batch, plans, trajectories)
        self.aggregate(questions, plans, trajectories)
        return trajectories

    def work(self, batch: list[tuple[int, SubQuestion]], plans, trajectories) -> None:
        """Answer one level of sub-questions, of every question, in one retrieval and one generation call."""
        texts = [fill(sub.text, {s.number: s.answer for s in plans[i]}) for i, sub in batch]
        found = [[] for _ in texts] if is_empty(self.retriever) else self.retriever.search(texts, self.k)
        answers = answer_with_passages(self.generator, texts, found, max_new_tokens=self.max_new_tokens,
                                       batch_size=self.batch_size)
        for (i, sub), text, hits, answer in zip(batch, texts, found, answers):
            sub.answer, sub.hits = answer, list(hits)
            trajectories[i].steps.append(Step("subquestion", answer, tool="search", args={"query": text, "k": self.k},
                                              observation=answer, passages=ids(hits),
                                              completion_tokens=self.generator.count_tokens(answer)))

    def aggregate(self, questions, plans, trajectories) -> None:
        facts = ["\n".join(f"Sub-question: {fill(s.text, {x.number: x.answer for x in p})}\nAnswer: {s.answer}"
                           for s in p) for p in plans]
        hits = [merge_hits(*(s.hits[:1] for s in reversed(p)), limit=self.max_passages) for p in plans]
        composed = [AGGREGATOR.format(facts=f, question=q) for f, q in zip(facts, questions)]
        answers = answer_with_passages(self.generator, composed, hits, max_new_tokens=self.max_new_tokens,
                                       batch_size=self.batch_size)
        for t, h, answer in zip(trajectories, hits, answers):
            t.steps.append(Step("aggregate", answer, passages=ids(h), completion_tokens=self.generator.count_tokens(answer)))
            t.answer, t.stop = answer, "done"
