"""Early stopping by dev-select: final/ holds the step with the best score, step 0 (the start) included."""

import json

import pytest
import torch

from ragadapt.training.lm import train_lm

from .test_lm import build, chat_data, config, params  # noqa: F401 (chat_data: a fixture)


def scripted(monkeypatch, values):
    """answer_scorer replaced by a scripted metric: the n-th score asked for is values[n]."""
    calls = []

    def scorer(system_dir, examples, **kw):
        def score(model, tokenizer):
            calls.append(len(calls))
            return values[len(calls) - 1]
        return score

    monkeypatch.setattr("ragadapt.training.best.answer_scorer", scorer)
    return calls


@pytest.mark.parametrize("values, best", [([0.2, 0.4, 0.9, 0.5, 0.3], 12),  # the best step
                                          ([0.7, 0.4, 0.6, 0.5, 0.3], 0),  # every step worse: the start
                                          ([0.2, 0.6, 0.6, 0.5, 0.3], 12)])  # a tie: the later step
def test_final_is_the_best_dev_select_step(tmp_path, tiny_generator_dir, chat_data, monkeypatch, values, best):
    calls = scripted(monkeypatch, values)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, system=str(tmp_path / "unused-system"),
                       dev_select="dev-select", trainer={"max_steps": 24, "save_steps": 6}))
    result = train_lm(cfg, "sft")
    assert result.global_step == 24 and len(calls) == 5  # step 0, the saves at 6, 12, 18 and 24
    chosen = json.loads((result.final_dir / "manifest.json").read_text())["dev_select"]
    assert chosen["best_step"] == best and chosen["scores"]["12"] == values[2]
    expected = params(tiny_generator_dir if best == 0 else result.output_dir / f"checkpoint-{best}")
    final, last = params(result.final_dir), params(result.output_dir / "checkpoint-24")
    assert all(torch.equal(expected[k], final[k]) for k in expected)
    assert any(not torch.equal(last[k], final[k]) for k in last)
    scores = [json.loads(line) for line in (result.output_dir / "dev_select.jsonl").read_text().splitlines()]
    assert [s["step"] for s in scores] == [0, 6, 12, 18, 24]


def test_a_resumed_run_chooses_over_both_processes(tmp_path, tiny_generator_dir, chat_data, monkeypatch):
    class Killed(Exception):
        pass

    def first(model, tokenizer):
        scores.append(None)
        if len(scores) == 3:  # the save at step 12 is on disk; the process dies while scoring it
            raise Killed
        return [0.1, 0.9][len(scores) - 1]

    scores = []
    monkeypatch.setattr("ragadapt.training.best.answer_scorer", lambda *a, **k: first)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, system=str(tmp_path / "s"), dev_select="dev-select",
                       trainer={"max_steps": 24, "save_steps": 6}))
    with pytest.raises(Killed):
        train_lm(cfg, "sft")
    calls = scripted(monkeypatch, [0.3, 0.4])
    result = train_lm(cfg, "sft")  # resumes at checkpoint-12; scores steps 18 and 24
    assert len(calls) == 2
    chosen = json.loads((result.final_dir / "manifest.json").read_text())["dev_select"]
    assert chosen["best_step"] == 6 and set(chosen["scores"]) == {"0", "6", "18", "24"}
    expected, final = params(result.output_dir / "checkpoint-6"), params(result.final_dir)
    assert all(torch.equal(expected[k], final[k]) for k in expected)


def test_dev_select_needs_a_system(tmp_path, tiny_generator_dir, chat_data):
    from ragadapt.errors import DataFormatError

    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, dev_select="dev-select"))
    with pytest.raises(DataFormatError, match="dev_select"):
        train_lm(cfg, "sft")


@pytest.mark.parametrize("values, unchanged", [([0.9, 0.1, 0.1], True), ([0.1, 0.9, 0.1], False)])
def test_a_routine_that_kept_step_0_hands_its_system_on_unchanged(tmp_path, tiny_system, chat_data, monkeypatch,
                                                                  values, unchanged):
    """Started from the system's own generator and no checkpoint answered dev-select better: OUTPUT_DIR/system
    keeps that generator as it came in (its checksum), not a re-saved copy; a better step replaces it."""
    from ragadapt.training import routine
    from ragadapt.training.compose import generator_source

    scripted(monkeypatch, values)
    cfg = build(config(tmp_path, generator_source(tiny_system), chat_data, system=str(tiny_system),
                       dev_select="dev-select", trainer={"max_steps": 4, "save_steps": 2}))
    result = routine("sft")(cfg)

    def generator(system_dir):
        return json.loads((system_dir / "manifest.json").read_text())["components"]["generator"]

    assert (generator(result.system_dir)["checksum"] == generator(tiny_system)["checksum"]) == unchanged
    assert ("provenance" not in generator(result.system_dir)) == unchanged


def test_checkpoints_are_judged_and_left_as_served_under_mixed_precision(tmp_path, tiny_generator_dir, chat_data,
                                                                         monkeypatch):
    """bf16 training wraps the model's forward in autocast; the dev answers of each checkpoint are written without
    it (fp32, as `ragadapt eval` serves the saved weights), and the trained model is left unwrapped."""
    from ragadapt.training import runner

    seen = []

    def head_dtype(model):
        """The dtype the LM head computes in (autocast's outputs are cast back to fp32 after the forward)."""
        dtypes = []
        hook = model.lm_head.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
        with torch.no_grad():
            model(input_ids=torch.tensor([[1, 2, 3]]))
        hook.remove()
        return dtypes[0]

    def scorer(system_dir, examples, **kw):
        def score(model, tokenizer):
            seen.append((head_dtype(model), "_original_forward" in model.__dict__))
            return 0.5
        return score

    monkeypatch.setattr("ragadapt.training.best.answer_scorer", scorer)
    trained = {}
    real_unwrap = runner.train_guarded

    def keep_model(trainer, *a, **k):
        step = real_unwrap(trainer, *a, **k)
        trained["model"] = trainer.model
        return step

    monkeypatch.setattr(runner, "train_guarded", keep_model)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, system=str(tmp_path / "unused-system"),
                       dev_select="dev-select", trainer={"max_steps": 4, "save_steps": 2, "bf16": True}))
    train_lm(cfg, "sft")
    assert seen and all(dtype == torch.float32 and wrapped for dtype, wrapped in seen)  # wrapped, judged in fp32
    model = trained["model"]  # after training accelerate's autocast wrapper is gone
    assert "_original_forward" not in model.__dict__ and head_dtype(model) == torch.float32


@pytest.mark.parametrize("values, tolerance, best", [([0.6, 0.65, 0.7, 0.6, 0.55], 0.0, 18),  # last step >= step 0
                                                     ([0.6, 0.65, 0.7, 0.55, 0.58], 0.025, 24),  # within 2.5 points
                                                     ([0.6, 0.5, 0.4, 0.3, 0.2], 0.0, 0),  # every step worse
                                                     ([0.6, 0.65, 0.7, 0.6, 0.55], None, 12)])  # no tolerance: best
def test_a_tolerance_makes_dev_select_a_guard(tmp_path, tiny_generator_dir, chat_data, monkeypatch, values, tolerance,
                                              best):
    scripted(monkeypatch, values)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, system=str(tmp_path / "unused-system"),
                       dev_select="dev-select", dev_select_tolerance=tolerance, trainer={"max_steps": 24, "save_steps": 6}))
    result = train_lm(cfg, "sft")
    chosen = json.loads((result.final_dir / "manifest.json").read_text())["dev_select"]
    assert chosen["best_step"] == best
    expected = params(tiny_generator_dir if best == 0 else result.output_dir / f"checkpoint-{best}")
    final = params(result.final_dir)
    assert all(torch.equal(expected[k], final[k]) for k in expected)


def test_a_tolerance_of_one_scores_nothing_and_keeps_the_last_step(tmp_path, tiny_generator_dir, chat_data,
                                                                    monkeypatch):
    calls = scripted(monkeypatch, [0.6, 0.5, 0.4])  # any score would be a wasted dev pass: no step can be chosen
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, system=str(tmp_path / "unused-system"),
                       dev_select="dev-select", dev_select_tolerance=1.0, trainer={"max_steps": 4, "save_steps": 2}))
    result = train_lm(cfg, "sft")
    assert calls == []
    assert "dev_select" not in json.loads((result.final_dir / "manifest.json").read_text())
    last, final = params(result.output_dir / "checkpoint-4"), params(result.final_dir)
    assert all(torch.equal(last[k], final[k]) for k in last)
