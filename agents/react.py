"""The ReAct search agent (Yao et al., 2023) in the Search-R1 action format: the model thinks, calls a tool
(`<search>`, `<read>`, `<answer>`), reads the observation, and goes on until it answers or runs out of steps.

All questions advance in lockstep, so every step is one batched generator call. A reply without a valid
action is a format error (the model is told the format again); a repeated identical search is answered
from memory with a warning instead of being run again; an episode that ends without an answer falls back
to a direct answer from the passages found so far (or the question's own top-k when none were found).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragadapt.agents.actions import parse_action, stop_strings
from ragadapt.agents.common import answer_with_passages, ids, is_empty, merge_hits, prompt_tokens
from ragadapt.agents.tools import Observation, Toolbox, default_tools
from ragadapt.agents.trajectory import Step, Trajectory
from ragadapt.types import Hit

log = logging.getLogger(__name__)

SYSTEM = ("You answer questions by searching a collection of encyclopedia passages.\n"
          "Tools:\n{tools}\n"
          "Reply with at most one short <think>...</think> and then exactly one tool call. Search results come "
          "back inside <information>...</information>. Search as often as you need; when you know the answer, "
          "reply <answer>a few words</answer>.\n\n"
          "Example:\nQuestion: Who wrote the play Hamlet?\nYou: <search>Hamlet play</search>\n"
          "<information>[h1] Hamlet: Hamlet is a tragedy written by William Shakespeare ...</information>\n"
          "You: <answer>William Shakespeare</answer>")
FORMAT_HINT = "No tool call found. Reply with <search>your query</search> or <answer>a few words</answer>."


def observation_message(text: str) -> dict[str, str]:
    return {"role": "user", "content": f"<information>{text}</information>"}


@dataclass
class Episode:
    """A question's conversation so far and what it has found."""

    trajectory: Trajectory
    messages: list[dict[str, str]]
    hits: list[Hit] = field(default_factory=list)
    searches: dict[tuple, Observation] = field(default_factory=dict)
    done: bool = False


class ReActAgent:
    workflow = "react"

    def __init__(self, generator, tools: Toolbox, max_steps: int = 4, max_new_tokens: int = 64,
                 fallback_retriever=None, fallback_k: int = 3, batch_size: int = 8, temperature: float = 0.0):
        self.generator, self.tools, self.max_steps = generator, tools, max_steps
        self.max_new_tokens, self.batch_size, self.temperature = max_new_tokens, batch_size, temperature
        self.fallback_retriever, self.fallback_k = fallback_retriever, fallback_k
        self.main_arguments = {name: tools[name].main_argument for name in tools.tools}

    @classmethod
    def over(cls, system, **kwargs) -> ReActAgent:
        """An agent over a RAGSystem: its retriever behind the tools (`k` hits per search, each cut to
        `snippet_words`), its generator as the policy."""
        tools = default_tools(system.retriever, kwargs.pop("k", system.config.k), kwargs.pop("snippet_words", None))
        return cls(system.generator, tools, fallback_retriever=system.retriever,
                   **{"fallback_k": system.config.k, **kwargs})

    def first_messages(self, question: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": SYSTEM.format(tools=self.tools.describe())},
                {"role": "user", "content": f"Question: {question}"}]

    def run(self, questions: Sequence[str]) -> list[Trajectory]:
        episodes = [Episode(Trajectory(q, self.workflow), self.first_messages(q)) for q in questions]
        for _ in range(self.max_steps):
            active = [e for e in episodes if not e.done]
            if not active:
                break
            prompts = [list(e.messages) for e in active]
            replies = self.generator.generate(prompts, max_new_tokens=self.max_new_tokens, batch_size=self.batch_size,
                                              temperature=self.temperature, stop=stop_strings(self.main_arguments))
            for episode, prompt, reply in zip(active, prompts, replies):
                self.advance(episode, reply, prompt_tokens(self.generator, prompt))
        self.fall_back([e for e in episodes if not e.done])
        return [e.trajectory for e in episodes]

    def advance(self, episode: Episode, reply: str, n_prompt: int) -> None:
        """Apply one model reply: parse its action, run the tool, record the step, extend the conversation."""
        action = parse_action(reply, self.main_arguments)
        kept = reply[: action.end] if action else reply  # nothing after the action: the model must wait
        step = Step("action", kept, prompt_tokens=n_prompt, completion_tokens=self.generator.count_tokens(reply))
        if action is None:
            step.kind, step.observation, step.error = "format_error", FORMAT_HINT, True
            obs = Observation(FORMAT_HINT, error=True)
        else:
            step.tool = action.name
            step.args = action.args if isinstance(action.args, dict) else {"raw": action.args}
            obs = Observation(f"error: {action.error}", error=True) if action.error else self.call(episode, action)
            step.observation, step.error, step.passages = obs.text, obs.error, ids(obs.hits)
        episode.trajectory.steps.append(step)
        episode.hits = merge_hits(episode.hits, obs.hits)
        if obs.final:
            episode.trajectory.answer, episode.trajectory.stop, episode.done = obs.text, "answer", True
            return
        episode.messages += [{"role": "assistant", "content": kept}, observation_message(obs.text)]

    def call(self, episode: Episode, action) -> Observation:
        if action.name == "search" and isinstance(action.args, dict):
            key = (" ".join(str(action.args.get("query", "")).lower().split()), action.args.get("k"))
            if key in episode.searches:  # a cycle: do not run it again, say so
                before = episode.searches[key]
                return Observation("error: you already ran this search (same results as before); search for "
                                   f"something else or answer.\n{before.text}", error=True)
            obs = self.tools.call(action.name, action.args)
            episode.searches[key] = obs
            return obs
        return self.tools.call(action.name, action.args)

    def fall_back(self, episodes: list[Episode]) -> None:
        """Episodes that never answered: a direct answer from what they found (or the top-k)."""
        if not episodes:
            return
        questions = [e.trajectory.question for e in episodes]
        hits = [e.hits[: self.fallback_k] for e in episodes]
        missing = [i for i, h in enumerate(hits) if not h]
        if missing and self.fallback_retriever is not None and not is_empty(self.fallback_retriever):
            found = self.fallback_retriever.search([questions[i] for i in missing], self.fallback_k)
            for i, h in zip(missing, found):
                hits[i] = list(h)
        answers = answer_with_passages(self.generator, questions, hits, batch_size=self.batch_size)
        for episode, h, answer in zip(episodes, hits, answers):
            episode.trajectory.steps.append(Step("fallback", answer, passages=ids(h),
                                                 completion_tokens=self.generator.count_tokens(answer)))
            episode.trajectory.answer, episode.trajectory.stop = answer, "fallback"
        log.info("%d of the agent's episodes ended without an answer: answered directly", len(episodes))
