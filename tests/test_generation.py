import logging

import pytest
import torch

from ragadapt.generation import TransformersGenerator

MSG = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what is a list?"}]


def test_batched_generation_equals_one_at_a_time(tiny_generator):
    prompts = ["def f(x):", MSG, "class A:", [{"role": "user", "content": "x" * 50}]]
    batched = tiny_generator.generate(prompts, max_new_tokens=6, batch_size=4)
    single = [tiny_generator.generate([p], max_new_tokens=6)[0] for p in prompts]
    assert batched == single


def test_loglikelihood_matches_manual_computation(tiny_generator):
    g = tiny_generator
    prompt, target = "the for statement", " is used to iterate"
    ctx = g.tokenizer(prompt)["input_ids"]
    tgt = g.tokenizer(target, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = g.model(torch.tensor([ctx + tgt])).logits[0]
    lp = torch.log_softmax(logits, -1)
    manual = sum(lp[len(ctx) - 1 + j, t].item() for j, t in enumerate(tgt))
    got = g.loglikelihood([prompt], [target])
    assert got.shape == (1,)
    assert got[0].item() == pytest.approx(manual, rel=1e-4)
    assert g.loglikelihood([prompt], [target], reduction="mean")[0].item() == pytest.approx(manual / len(tgt), rel=1e-4)


def test_loglikelihood_batched_equals_single(tiny_generator):
    prompts = ["a", MSG, "while True:", "import os"]
    targets = [" b", "a sequence", " pass", " sys and more text"]
    batched = tiny_generator.loglikelihood(prompts, targets, batch_size=3)
    single = torch.cat([tiny_generator.loglikelihood([p], [t]) for p, t in zip(prompts, targets)])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="2 prompts but 1 targets"):
        tiny_generator.loglikelihood(["a", "b"], ["c"])


def test_targets_sharing_a_prompt_score_as_if_alone(tiny_generator):
    """A prompt given with several targets runs once (its cache copied per target): the same log-likelihoods as
    scoring each pair on its own, one-token and longer targets, prompts of different lengths in one batch."""
    prompts = ["a", MSG, "while True:", MSG, "a", "a", "import os and then some more words"]
    targets = [" b", "a sequence of things", " pass", "x", " c d e", " b", " sys"]
    together = tiny_generator.loglikelihood(prompts, targets, batch_size=2)
    alone = torch.cat([tiny_generator.loglikelihood([p], [t]) for p, t in zip(prompts, targets)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-4)
    mean = tiny_generator.loglikelihood(prompts, targets, reduction="mean")
    alone = torch.cat([tiny_generator.loglikelihood([p], [t], reduction="mean") for p, t in zip(prompts, targets)])
    torch.testing.assert_close(mean, alone, rtol=1e-4, atol=1e-4)


def test_overlong_prompts_do_not_crash(tiny_generator):
    huge = "word " * 2000  # the tiny model's context is 512 tokens
    assert isinstance(tiny_generator.generate([huge], max_new_tokens=3)[0], str)
    assert torch.isfinite(tiny_generator.loglikelihood([huge], [" end"])).all()


def test_chat_template_fallback_warns_once(tiny_generator_dir, caplog):
    g = TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu")
    g.tokenizer.chat_template = None
    with caplog.at_level(logging.WARNING):
        text = g.render(MSG)
        g.render(MSG)
    assert text.startswith("System: be brief") and text.endswith("Assistant:")
    assert sum("no chat template" in r.message for r in caplog.records) == 1


def test_chat_prompt_uses_template(tiny_generator):
    assert tiny_generator.render(MSG).endswith("<|im_start|>assistant\n")


def test_cut_at_stop_keeps_the_earliest_stop_string():
    from ragadapt.generation.base import cut_at_stop

    assert cut_at_stop("<search>x</search> junk </answer>", ["</answer>", "</search>"]) == "<search>x</search>"
    assert cut_at_stop("no stop here", ["</search>"]) == "no stop here" and cut_at_stop("a", None) == "a"


def test_a_bf16_scorer_answers_in_the_served_dtype(tiny_generator_dir):
    """Routines score with bf16 where it is native; answers they report come from the fp32 model a system serves
    (a bf16 copy answers differently), loaded once; a generator already in the served dtype is itself."""
    import torch

    from ragadapt.generation import TransformersGenerator
    from ragadapt.generation.base import as_served

    scorer = TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu", dtype=torch.bfloat16)
    served = as_served(scorer)
    assert served is not scorer and served.module.dtype == torch.float32
    assert scorer.module.dtype == torch.bfloat16 and as_served(scorer) is served
    fresh = TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(served.module.parameters(), fresh.module.parameters()))
    assert as_served(fresh) is fresh and as_served("not a transformers generator") == "not a transformers generator"
