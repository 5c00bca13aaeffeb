"""Abstention by likelihood ratio (ragadapt.generation.abstain): the margin, the calibration, the wrapped generator."""

import pytest
import torch

from ragadapt.generation import Generator
from ragadapt.generation.abstain import AbstentionRule, Abstaining, calibrate, margins

REPLY = "I don't know."


class Scripted:
    """Answers "Paris" to every prompt; finds the abstention reply likely only over a passage without the answer."""

    name = "scripted"
    context_length = 512

    def generate(self, prompts, max_new_tokens=64, temperature=0.0, top_p=1.0, batch_size=8, stop=None):
        return ["Paris" for _ in prompts]

    def loglikelihood(self, prompts, targets, reduction="sum", batch_size=8):
        assert reduction == "mean"
        return torch.tensor([(-0.5 if "nothing here" in p else -3.0) if t == REPLY else -1.0
                             for p, t in zip(prompts, targets)])

    def count_tokens(self, text):
        return len(text.split())


def test_margin_is_the_reply_over_the_answer_per_prompt():
    assert margins(Scripted(), ["Paris is the capital.", "nothing here"], ["Paris", "Paris"], REPLY) == \
        pytest.approx([-2.0, 0.5])
    assert margins(Scripted(), [], [], REPLY) == []
    with pytest.raises(ValueError, match="2 prompts but 1 answers"):
        margins(Scripted(), ["a", "b"], ["x"], REPLY)


def test_calibration_declines_at_most_the_chosen_share_of_answerable_dev_questions():
    dev = [3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0]
    for rate, declined in ((0.0, 0), (0.1, 1), (0.25, 2), (0.5, 5)):
        threshold = calibrate(dev, rate)
        assert sum(m > threshold for m in dev) == declined
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        calibrate(dev, 1.0)
    with pytest.raises(ValueError, match="needs dev margins"):
        calibrate([], 0.1)


def test_the_wrapped_generator_declines_only_where_the_margin_exceeds_the_threshold():
    inner = Scripted()
    wrapped = Abstaining(inner, AbstentionRule(REPLY, threshold=0.0))
    assert isinstance(wrapped, Generator) and wrapped.name == "scripted" and wrapped.count_tokens("a b") == 2
    assert wrapped.generate(["Paris is the capital.", "nothing here", "Paris again"]) == ["Paris", REPLY, "Paris"]
    assert Abstaining(inner, AbstentionRule(REPLY, threshold=1.0)).generate(["nothing here"]) == ["Paris"]


def test_the_rule_runs_on_a_real_model(tiny_generator):
    prompts = [[{"role": "user", "content": "Where is the Louvre?"}], "def f(x):"]
    answers = tiny_generator.generate(prompts, max_new_tokens=4)
    scored = margins(tiny_generator, prompts, answers, REPLY)
    threshold = calibrate(scored, 0.5)
    out = Abstaining(tiny_generator, AbstentionRule(REPLY, threshold)).generate(prompts, max_new_tokens=4)
    assert out == [REPLY if m > threshold else a for a, m in zip(answers, scored)]
    assert sum(o == REPLY for o in out) == 1


def test_a_saved_rule_travels_with_the_generator_and_its_system(tmp_path, tiny_generator, tiny_generator_dir,
                                                                tiny_system):
    """The rule is stored in the generator's manifest (its files' checksums still hold) and every load serves it:
    the generator directory by itself and the system it is saved in."""
    from ragadapt.generation import TransformersGenerator, load_generator
    from ragadapt.generation.abstain import rule_of
    from ragadapt.manifest import read_manifest
    from ragadapt.system import RAGSystem, describe

    rule = AbstentionRule(REPLY, threshold=-1e9)  # declines everything: easy to see
    Abstaining(tiny_generator, rule).save(tmp_path / "gen")
    read_manifest(tmp_path / "gen", "causal-lm", verify_hashes=True)
    assert rule_of(tmp_path / "gen") == rule
    for loaded in (TransformersGenerator.load(tmp_path / "gen"), load_generator(str(tmp_path / "gen"))):
        assert isinstance(loaded, Abstaining) and loaded.rule == rule
        assert loaded.served().rule == rule
    system = RAGSystem.load(tiny_system, generator=str(tmp_path / "gen"))
    assert system.answer("Where is the Louvre?")[0].text == REPLY
    system.save(tmp_path / "sys")
    assert RAGSystem.load(tmp_path / "sys").answer("Where is the Louvre?")[0].text == REPLY
    assert 'abstains ("I don\'t know.")' in describe(tmp_path / "sys")
    assert rule_of(tmp_path / "missing") is None  # and a directory without a rule loads as itself:
    assert not isinstance(load_generator(str(tiny_generator_dir)), Abstaining)


def test_the_vllm_backend_serves_a_saved_rule_too(tmp_path, tiny_generator, monkeypatch):
    """The rule belongs to the weights, not to a backend: a directory loaded through vLLM answers under it."""
    from ragadapt.generation import load_generator, vllm_backend

    class FakeVLLM(Scripted):
        def __init__(self, name, **kwargs):
            self.name = name

    monkeypatch.setattr(vllm_backend, "VLLMGenerator", FakeVLLM)
    rule = AbstentionRule(REPLY, threshold=-1e9)
    Abstaining(tiny_generator, rule).save(tmp_path / "gen")
    served = load_generator(str(tmp_path / "gen"), backend="vllm")
    assert isinstance(served, Abstaining) and served.rule == rule and isinstance(served.generator, FakeVLLM)
    assert served.generate(["Where is the Louvre?"]) == [REPLY]
