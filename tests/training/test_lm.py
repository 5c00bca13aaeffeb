"""CPT and SFT on the tiny model: loss goes down, only trainable weights move, resume, reload."""

import json

import pytest
import torch

from ragadapt.training import LMConfig, LoraSettings, load_config
from ragadapt.training.lm import train_lm

COLORS = {"sky": "blue", "grass": "green", "snow": "white", "coal": "black", "blood": "red", "sun": "yellow"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def chat_data(tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"What color is the {k}?"},
                          {"role": "assistant", "content": f"The {k} is {v}."}]} for k, v in COLORS.items()] * 8
    return write_jsonl(tmp_path / "chat.jsonl", rows)


@pytest.fixture
def text_data(tmp_path):
    rows = [{"text": f"The {k} is {v}. " * 3} for k, v in COLORS.items()] * 6
    return write_jsonl(tmp_path / "text.jsonl", rows)


def params(model_dir):
    from transformers import AutoModelForCausalLM

    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(model_dir).state_dict().items()}


def config(tmp_path, model_dir, data, **kw):
    trainer = {"max_steps": 24, "learning_rate": 5e-3, "per_device_train_batch_size": 4, "save_steps": 12,
               "logging_steps": 2, **kw.pop("trainer", {})}
    return LMConfig(model=str(model_dir), output_dir=str(tmp_path / "run"), data=[{"path": data}] if isinstance(data, str) else data,
                    max_length=64, trainer=trainer, **kw)


def build(cfg):
    from ragadapt.training.config import from_dict, to_dict

    return from_dict(LMConfig, to_dict(cfg) if not isinstance(cfg, dict) else cfg)


def test_sft_learns_and_freezes(tmp_path, tiny_generator_dir, chat_data):
    before = params(tiny_generator_dir)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, freeze=["model.layers.0.*"]))
    result = train_lm(cfg, "sft")
    assert result.global_step == 24
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < 0.75 * first, result.losses
    after = params(result.final_dir)
    frozen = [k for k in before if k.startswith("model.layers.0.")]
    trainable = [k for k in before if k.startswith("model.layers.1.")]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in trainable)
    assert (result.output_dir / "loss.png").stat().st_size > 1000
    assert json.loads((result.final_dir / "manifest.json").read_text())["method"] == "sft"
    # the trained model plugs into the generation stack
    from ragadapt.generation import TransformersGenerator

    g = TransformersGenerator.from_pretrained(str(result.final_dir), device="cpu")
    assert g.generate([[{"role": "user", "content": "What color is the sky?"}]], max_new_tokens=8)[0]


def test_resume_continues_from_the_last_checkpoint(tmp_path, tiny_generator_dir, chat_data):
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, trainer={"max_steps": 12, "save_steps": 6}))
    assert train_lm(cfg, "sft").global_step == 12
    assert (tmp_path / "run" / "checkpoint-12").is_dir()
    cfg.trainer["max_steps"] = 18
    result = train_lm(cfg, "sft")
    assert result.global_step == 18
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert 14 in steps and steps.count(2) == 1  # the second run went on from step 12, not from 0
    before = params(result.final_dir)
    again = train_lm(cfg, "sft")  # rerunning a finished run: loaded from checkpoint-18, not one step further
    assert again.global_step == 18 and not (tmp_path / "run" / "checkpoint-19").exists()
    after = params(again.final_dir)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_lora_trains_adapters_only_and_merges(tmp_path, tiny_generator_dir, chat_data):
    before = params(tiny_generator_dir)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, lora=LoraSettings(r=4, alpha=8, dropout=0.0),
                       trainer={"max_steps": 10, "learning_rate": 1e-2}))
    result = train_lm(cfg, "sft")
    after = params(result.final_dir)
    assert set(after) == set(before)  # merged: plain weights, no lora_ keys
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed and all(("proj" in k) for k in changed)  # only LoRA-targeted linear layers moved
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])


def test_cpt_with_replay_and_joint_sft(tmp_path, tiny_generator_dir, text_data, chat_data):
    cfg = build(config(tmp_path, tiny_generator_dir, text_data, replay=[{"path": "pydoc", "limit": 20}],
                       replay_ratio=0.2, trainer={"max_steps": 16}))
    result = train_lm(cfg, "cpt")
    assert result.losses[-1] < result.losses[0]
    joint = build(config(tmp_path / "j", tiny_generator_dir,
                         [{"path": text_data, "weight": 0.5}, {"path": chat_data, "weight": 0.5}],
                         trainer={"max_steps": 8}))
    assert train_lm(joint, "sft").global_step == 8


def test_curriculum_stages_run_in_order(tmp_path, tiny_generator_dir, text_data, chat_data):
    cfg = build(config(tmp_path, tiny_generator_dir, [], stages=[
        {"name": "s1", "data": [{"path": text_data}], "trainer": {"max_steps": 4}},
        {"name": "s2", "data": [{"path": chat_data}], "trainer": {"max_steps": 4},
         "schedule": {"name": "wsd", "warmup": 0.25, "cooldown": 0.5}},
    ]))
    result = train_lm(cfg, "sft")
    assert (tmp_path / "run" / "s1" / "stage_done.json").exists()
    stages = {json.loads(line).get("stage") for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()}
    assert stages == {"s1", "s2"} and result.final_dir.exists()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_generator_dir, chat_data, monkeypatch):
    from ragadapt.training import callbacks
    from ragadapt.training.runner import TrainingDiverged

    original = callbacks.NanGuard.on_log

    def poisoned(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs and state.global_step >= 8:
            logs = {**logs, "loss": float("nan")}
        return original(self, args, state, control, logs=logs, **kw)

    monkeypatch.setattr(callbacks.NanGuard, "on_log", poisoned)
    cfg = build(config(tmp_path, tiny_generator_dir, chat_data, trainer={"max_steps": 20, "save_steps": 4}))
    with pytest.raises(TrainingDiverged, match="NaN/inf at step 8.*checkpoint-4|NaN/inf at step 8.*checkpoint-8"):
        train_lm(cfg, "sft")
    assert not (tmp_path / "run" / "checkpoint-12").exists()
    assert not (tmp_path / "run" / "final").exists()


def test_bad_config_and_data_errors(tmp_path, tiny_generator_dir, chat_data):
    from ragadapt.errors import DataFormatError

    p = tmp_path / "c.yaml"
    p.write_text("model: x\nlearning_rate: 1e-5\n")
    with pytest.raises(DataFormatError, match=r"c\.yaml.*unknown key\(s\) \['learning_rate'\]"):
        load_config(LMConfig, p)
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "reply": "a"}])
    with pytest.raises(DataFormatError, match=r"bad\.jsonl.*columns \['question', 'reply'\]"):
        train_lm(build(config(tmp_path, tiny_generator_dir, bad)), "sft")
    with pytest.raises(DataFormatError, match="SFTConfig has no field 'learning_rat'"):
        train_lm(build(config(tmp_path, tiny_generator_dir, chat_data, trainer={"learning_rat": 1})), "sft")
    with pytest.raises(DataFormatError, match="freeze pattern"):
        train_lm(build(config(tmp_path, tiny_generator_dir, chat_data, freeze=["encoder.*"])), "sft")
