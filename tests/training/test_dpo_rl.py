"""DPO, GRPO and RLOO on the tiny model: they train, rewards rise, only trainable weights move."""

import json

import pytest
import torch

from ragadapt.training import DPOTrainConfig, RLConfig
from ragadapt.training.config import from_dict

COLORS = {"sky": "blue", "grass": "green", "snow": "white", "coal": "black"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def state(model_dir):
    from transformers import AutoModelForCausalLM

    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(model_dir).state_dict().items()}


def test_dpo_prefers_chosen_and_uses_a_local_reference(tmp_path, tiny_generator_dir):
    from ragadapt.training.dpo import train_dpo

    rows = [{"prompt": [{"role": "user", "content": f"What color is the {k}?"}],
             "chosen": [{"role": "assistant", "content": v}],
             "rejected": [{"role": "assistant", "content": "purple"}]} for k, v in COLORS.items()] * 6
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    before = state(tiny_generator_dir)
    cfg = from_dict(DPOTrainConfig, {"model": str(tiny_generator_dir), "output_dir": str(tmp_path / "dpo"),
                                     "data": [{"path": data}], "max_length": 64, "freeze": ["model.embed_tokens.*"],
                                     "trainer": {"max_steps": 20, "learning_rate": 5e-3, "logging_steps": 2}})
    result = train_dpo(cfg)
    assert result.losses[0] == pytest.approx(0.693, abs=0.02)  # log 2: policy == reference at the start
    assert result.losses[-1] < 0.7 * result.losses[0], result.losses
    after = state(result.final_dir)
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])
    assert any(not torch.equal(before[k], after[k]) for k in before if "layers" in k)


def test_precomputed_reference_log_probs_start_at_the_policy(tmp_path, tiny_generator_dir):
    """`trainer: {precompute_ref_log_probs: true}` (TRL's: one reference pass before training instead of one per
    step; LoRA: the reference is the model with its adapters off) in the precision training runs in, so the
    first step's policy and reference agree: loss log 2, margin 0."""
    from ragadapt.training.dpo import train_dpo

    rows = [{"prompt": [{"role": "user", "content": f"What color is the {k}?"}],
             "chosen": [{"role": "assistant", "content": v}],
             "rejected": [{"role": "assistant", "content": "purple"}]} for k, v in COLORS.items()] * 2
    cfg = from_dict(DPOTrainConfig, {"model": str(tiny_generator_dir), "output_dir": str(tmp_path / "dpo"),
                                     "data": [{"path": write_jsonl(tmp_path / "pairs.jsonl", rows)}],
                                     "max_length": 64, "freeze": [], "lora": {"r": 4, "alpha": 8},
                                     "trainer": {"max_steps": 4, "learning_rate": 5e-3, "logging_steps": 1,
                                                 "precompute_ref_log_probs": True}})
    result = train_dpo(cfg)
    first = json.loads((result.output_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert result.losses[0] == pytest.approx(0.6931, abs=1e-3) and abs(first["rewards/margins"]) < 1e-3
    assert result.losses[-1] < result.losses[0]


def test_dpo_reference_that_cannot_be_found_offline(tmp_path, tiny_generator_dir):
    from ragadapt.errors import UnknownModelError
    from ragadapt.training.dpo import reference_model

    cfg = DPOTrainConfig(model=str(tiny_generator_dir), ref_model="nobody/missing-ref")
    with pytest.raises(UnknownModelError, match="reference model 'nobody/missing-ref' cannot be loaded offline.*ref_model"):
        reference_model(cfg, str(tiny_generator_dir))


class ScriptedGenerator:
    """Returns fixed samples in order, to check the pair recipe exactly."""

    def __init__(self, samples):
        self.samples = samples

    def generate(self, prompts, **kwargs):
        assert len(prompts) == len(self.samples)
        return self.samples


def test_preference_pairs_from_sampled_answers():
    from ragadapt.eval import f1_score
    from ragadapt.training.dpo import build_preference_pairs

    gen = ScriptedGenerator(["Paris", "Lyon", "It is Paris", "Nice",   # mixed: a pair
                             "Rome", "Rome", "Rome", "Rome",            # all right: skipped
                             "x", "y", "z", "w"])                       # all wrong: skipped
    pairs, stats = build_preference_pairs(gen, ["q1", "q2", "q3"], [["Paris"], ["Rome"], ["Oslo"]], f1_score)
    assert pairs == [{"prompt": "q1", "chosen": "Paris", "rejected": "Nice"}]
    assert (stats.pairs, stats.all_correct, stats.all_wrong) == (1, 1, 1)


def short_answer_reward(prompts, completions, **columns):
    """Learnable by a random tiny model: end the answer early."""
    from ragadapt.training.rewards import completion_text

    return [1.0 - min(len(completion_text(c)), 40) / 40 for c in completions]


@pytest.mark.parametrize("method", ["grpo", "rloo"])
def test_rl_reward_rises(tmp_path, tiny_generator_dir, method, monkeypatch):
    monkeypatch.setenv("RAGADAPT_ALLOW_CODE", "1")  # the config names a reward function of this module
    from ragadapt.training.rl import train_rl

    rows = [{"prompt": [{"role": "user", "content": f"What color is the {k}?"}], "answer": v} for k, v in COLORS.items()] * 8
    data = write_jsonl(tmp_path / "prompts.jsonl", rows)
    before = state(tiny_generator_dir)
    cfg = from_dict(RLConfig, {
        "model": str(tiny_generator_dir), "output_dir": str(tmp_path / method), "data": [{"path": data}],
        "rewards": [f"{__name__}:short_answer_reward", "f1"], "reward_weights": [1.0, 0.0],
        "freeze": ["model.layers.0.*"],
        "trainer": {"max_steps": 30, "learning_rate": 2e-2, "max_completion_length": 12, "num_generations": 4,
                    "per_device_train_batch_size": 8, "logging_steps": 1, "temperature": 1.0}})
    result = train_rl(cfg, method)
    rewards = [json.loads(l)["reward"] for l in (result.output_dir / "metrics.jsonl").read_text().splitlines()
               if "reward" in json.loads(l)]
    assert len(rewards) >= 24
    assert sum(rewards[-6:]) / 6 > sum(rewards[:6]) / 6 + 0.05, rewards
    after = state(result.final_dir)
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("model.layers.0."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("model.layers.1."))


def test_rewards():
    from ragadapt.errors import DataFormatError
    from ragadapt.training.rewards import REWARDS, resolve_reward

    completions = ["Paris", [{"role": "assistant", "content": "It is Paris."}], "Lyon\nand more"]
    cols = {"answers": [["Paris"], ["Paris"], ["Paris"]]}
    assert REWARDS["em"](None, completions, **cols) == [1.0, 0.0, 0.0]
    assert REWARDS["contains"](None, completions, **cols) == [1.0, 1.0, 0.0]
    assert REWARDS["format"](None, completions) == [1.0, 1.0, 0.0]
    assert REWARDS["f1"](None, ["Paris France"], answer=["Paris"]) == [pytest.approx(2 / 3)]
    with pytest.raises(DataFormatError, match="needs an `answers` or `answer` column"):
        REWARDS["em"](None, ["x"], question=["q"])
    with pytest.raises(DataFormatError, match="unknown reward 'bleu'"):
        resolve_reward("bleu")


def lookup(city: str) -> str:
    """Look up a city.

    Args:
        city: the city name
    """
    return f"{city} is in France"


def test_tools_need_a_parseable_chat_template(tmp_path, tiny_generator_dir, monkeypatch):
    from ragadapt.errors import DataFormatError
    from ragadapt.training.rl import train_rl

    data = write_jsonl(tmp_path / "p.jsonl", [{"prompt": [{"role": "user", "content": "Where is Paris?"}],
                                               "answer": "France"}] * 8)
    cfg = from_dict(RLConfig, {"model": str(tiny_generator_dir), "output_dir": str(tmp_path / "t"),
                               "data": [{"path": data}], "tools": [f"{__name__}:lookup"],
                               "trainer": {"max_steps": 1, "num_generations": 4, "per_device_train_batch_size": 4}})
    with pytest.raises(DataFormatError, match="imports and runs code .* pass --allow-code"):
        train_rl(cfg, "grpo")  # a config that names functions is code: refused unless allowed
    monkeypatch.setenv("RAGADAPT_ALLOW_CODE", "1")
    with pytest.raises(DataFormatError, match="tool rollouts need a chat template TRL can parse"):
        train_rl(cfg, "grpo")
