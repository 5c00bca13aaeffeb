"""Token-level ReAct episodes for RL: the observation tokens are masked, the model's own tokens are not,
and the tokens the policy continues from are exactly the episode so far."""

from ragadapt.agents import ReActAgent, default_tools
from ragadapt.agents.rollout import ReActRollout, observation_ids, play
from ragadapt.generation import TransformersGenerator


class ScriptedPolicy(TransformersGenerator):
    """The tiny model's tokenizer and template; replies scripted per turn, as token ids."""

    def __init__(self, base, replies):
        super().__init__(base.model, base.tokenizer, name="scripted-policy")
        self.replies, self.contexts = replies, []

    def generate_ids(self, contexts, max_new_tokens=64, temperature=0.0, top_p=1.0, batch_size=8, stop=None):
        self.contexts.append([list(c) for c in contexts])
        turn = len(self.contexts) - 1
        return [self.tokenizer(self.replies[turn], add_special_tokens=False)["input_ids"] for _ in contexts]


def test_observation_tokens_are_masked_and_contexts_are_exact(tiny_generator, retriever):
    replies = ["<search>Mona Lisa painter</search>", "<answer>Leonardo</answer>"]
    policy = ScriptedPolicy(tiny_generator, replies)
    agent = ReActAgent(policy, default_tools(retriever, k=1, snippet_words=4), max_steps=3)
    prompt = agent.first_messages("Who painted the Mona Lisa?")
    (r,) = play(policy, agent, [prompt], temperature=1.0)
    tok = policy.tokenizer
    model_tokens = [t for t, m in zip(r.completion_ids, r.env_mask) if m == 1]
    env_tokens = [t for t, m in zip(r.completion_ids, r.env_mask) if m == 0]
    assert tok.decode(model_tokens) == "".join(replies)
    assert "<information>[p1] Mona Lisa: Mona Lisa is a ...</information>" in tok.decode(env_tokens)
    # the second turn continued from prompt + first reply + observation, token for token
    assert policy.contexts[1][0] == r.prompt_ids + r.completion_ids[: len(policy.contexts[1][0]) - len(r.prompt_ids)]
    first = tok(replies[0], add_special_tokens=False)["input_ids"]
    segment = observation_ids(policy, prompt, r.trajectory.steps[0].observation)
    assert r.completion_ids[: len(first) + len(segment)] == first + segment
    assert r.env_mask[: len(first) + len(segment)] == [1] * len(first) + [0] * len(segment)
    assert (r.trajectory.answer, r.trajectory.stop) == ("Leonardo", "answer")
    assert r.completion_ids[-1] == tok.eos_token_id and r.env_mask[-1] == 0  # episode end, not trained


def test_rollout_func_for_trl_unanswered_episodes(tiny_generator, retriever):
    policy = ScriptedPolicy(tiny_generator, ["no idea", "still no idea"])
    agent = ReActAgent(policy, default_tools(retriever, k=1, snippet_words=4), max_steps=2)

    class Scripted(ReActRollout):
        def policy_for(self, trainer):
            return policy

    policy.model.train()
    out = Scripted(agent)([agent.first_messages("Who painted the Mona Lisa?")] * 2, trainer=None)
    assert policy.model.training  # generation ran in eval mode, training mode restored
    assert out["agent_stop"] == ["max_steps", "max_steps"] and out["agent_answer"] == ["", ""]
    assert out["agent_format_errors"] == [2, 2] and out["agent_searches"] == [0, 0] and out["logprobs"] is None
    assert len(out["prompt_ids"]) == len(out["completion_ids"]) == 2
    assert all(len(c) == len(m) and 0 in m and 1 in m for c, m in zip(out["completion_ids"], out["env_mask"]))
