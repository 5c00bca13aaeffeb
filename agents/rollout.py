"""Multi-turn ReAct episodes at the token level, for RL on the search policy (Search-R1 style).

An episode is one token sequence: the prompt, then the model's turns and the observations in between.
The policy continues from exactly the tokens it saw (no re-rendering between turns), and `env_mask`
marks which completion tokens the model wrote (1) and which came from the environment (0: the end of the
model's turn, the `<information>` observation, the start of its next turn), so retrieved text is never
trained on. The environment itself (action parsing, tools, cycle detection) is the ReAct agent's, so
training and inference play by the same rules. Plugs into TRL's GRPO as `rollout_func`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ragadapt.agents.actions import stop_strings
from ragadapt.agents.react import Episode, ReActAgent, observation_message
from ragadapt.agents.trajectory import Trajectory
from ragadapt.generation.base import cut_at_stop

_PLACEHOLDER = "\u2063REPLY\u2063"


@dataclass
class Rollout:
    prompt_ids: list[int]
    completion_ids: list[int]
    env_mask: list[int]  # 1 = written by the model (trained), 0 = observation / template (masked)
    trajectory: Trajectory


def observation_ids(policy, messages: list[dict[str, str]], observation: str) -> list[int]:
    """The tokens between the model's reply and its next turn: end of turn, the observation as a user
    message, the start of the assistant's next turn, in the policy's own chat template."""
    text = policy.render(list(messages) + [{"role": "assistant", "content": _PLACEHOLDER},
                                           observation_message(observation)])
    segment = text[text.index(_PLACEHOLDER) + len(_PLACEHOLDER):]
    return policy.tokenizer(segment, add_special_tokens=False)["input_ids"]


def question_of(prompt: list[dict[str, str]]) -> str:
    return prompt[-1]["content"].removeprefix("Question: ")


def play(policy, agent: ReActAgent, prompts: Sequence[list[dict[str, str]]], temperature: float = 1.0,
         max_new_tokens: int | None = None) -> list[Rollout]:
    """One episode per prompt (`agent.first_messages(question)`), all advancing in lockstep. `policy` is a
    TransformersGenerator over the model being trained. An episode that never answers ends with stop
    'max_steps' and no answer (no fallback while training: the reward should see the failure)."""
    stop = stop_strings(agent.main_arguments)
    eos = set(filter(lambda t: t is not None, [policy.tokenizer.eos_token_id,
                                                getattr(policy.tokenizer, "pad_token_id", None)]))
    episodes = [Episode(Trajectory(question_of(p), agent.workflow), list(p)) for p in prompts]
    prompt_ids = [policy._encode_prompt(list(p)) for p in prompts]
    completion: list[list[int]] = [[] for _ in prompts]
    mask: list[list[int]] = [[] for _ in prompts]
    for step in range(agent.max_steps):
        active = [i for i, e in enumerate(episodes) if not e.done]
        if not active:
            break
        new = policy.generate_ids([prompt_ids[i] + completion[i] for i in active],
                                  max_new_tokens or agent.max_new_tokens, temperature, batch_size=agent.batch_size,
                                  stop=stop)
        for i, ids in zip(active, new):
            episode = episodes[i]
            context = list(episode.messages)
            reply = cut_at_stop(policy.tokenizer.decode(ids, skip_special_tokens=True), stop).strip()
            agent.advance(episode, reply, len(prompt_ids[i]) + len(completion[i]))
            completion[i] += ids
            mask[i] += [1] * len(ids)
            if episode.done or step == agent.max_steps - 1:
                continue
            if completion[i] and completion[i][-1] in eos:  # the template closes the turn itself
                completion[i].pop()
                mask[i].pop()
            segment = observation_ids(policy, context, episode.trajectory.steps[-1].observation or "")
            completion[i] += segment
            mask[i] += [0] * len(segment)
    for e, c, m in zip(episodes, completion, mask):
        if not e.done:
            e.trajectory.stop = "max_steps"
        if policy.tokenizer.eos_token_id is not None and (not c or c[-1] not in eos):
            c.append(policy.tokenizer.eos_token_id)  # the episode is over (masked: the model did not write it)
            m.append(0)
    return [Rollout(p, c, m, e.trajectory) for p, c, m, e in zip(prompt_ids, completion, mask, episodes)]


class ReActRollout:
    """TRL `rollout_func(prompts, trainer)`: plays one episode per prompt with the model being trained and
    returns its tokens, the observation mask, and the episode's answer and statistics for the rewards."""

    def __init__(self, agent: ReActAgent, temperature: float = 1.0):
        self.agent, self.temperature = agent, temperature
        self.last: list[Rollout] = []  # the latest batch, for logging and tests

    def policy_for(self, trainer):
        """The model being trained, as a Generator (generation on the unwrapped model)."""
        from ragadapt.generation import TransformersGenerator

        return TransformersGenerator(trainer.accelerator.unwrap_model(trainer.model), trainer.processing_class,
                                     name="policy")

    def __call__(self, prompts, trainer) -> dict:
        policy = self.policy_for(trainer)
        self.agent.generator = policy  # token counts in the trajectories use the policy's tokenizer
        model = policy.model
        was_training = model.training
        model.eval()
        try:
            self.last = play(policy, self.agent, prompts, self.temperature)
        finally:
            model.train(was_training)
        return {"prompt_ids": [r.prompt_ids for r in self.last],
                "completion_ids": [r.completion_ids for r in self.last],
                "logprobs": None,
                "env_mask": [r.env_mask for r in self.last],
                "agent_answer": [r.trajectory.answer for r in self.last],
                "agent_stop": [r.trajectory.stop for r in self.last],
                "agent_turns": [len(r.trajectory.steps) for r in self.last],
                "agent_format_errors": [r.trajectory.format_errors() for r in self.last],
                "agent_searches": [r.trajectory.searches() for r in self.last]}
