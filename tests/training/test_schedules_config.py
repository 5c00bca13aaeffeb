"""LR schedules (values at known steps), config loading/overrides, and every shipped YAML config."""

from pathlib import Path

import pytest

from ragadapt.training import LMConfig, load_config
from ragadapt.training.config import ScheduleConfig
from ragadapt.training.schedules import lr_curve

CONFIGS = sorted((Path(__file__).parents[2] / "configs" / "train").glob("*.yaml"))


def test_cosine_warms_up_then_decays_to_the_floor():
    lr = lr_curve(ScheduleConfig(name="cosine", warmup=0.1, min_lr_ratio=0.1), 100)
    assert lr[0] == 0.0 and lr[10] == pytest.approx(1.0)
    assert lr[55] == pytest.approx(0.1 + 0.9 * 0.5, abs=0.02)  # half-way through the decay
    assert lr[99] == pytest.approx(0.1, abs=0.01) and min(lr[10:]) >= 0.1 - 1e-6


def test_wsd_is_flat_then_cools_down():
    lr = lr_curve(ScheduleConfig(name="wsd", warmup=10, cooldown=0.2, min_lr_ratio=0.0), 100)
    assert lr[5] == pytest.approx(0.5, abs=0.1)
    assert all(v == pytest.approx(1.0) for v in lr[10:80])
    assert lr[90] < 0.6 and lr[99] < 0.05


def test_constant_and_rewarm_per_stage():
    assert lr_curve(ScheduleConfig(name="constant", warmup=0), 10) == [1.0] * 10
    # each stage builds its own scheduler: the second stage warms up again from 0
    stage = lr_curve(ScheduleConfig(name="cosine", warmup=0.5), 10)
    assert stage[0] == 0.0 and max(stage) == pytest.approx(1.0)


def test_unknown_schedule():
    from ragadapt.errors import DataFormatError

    with pytest.raises(DataFormatError, match="unknown schedule 'step'"):
        lr_curve(ScheduleConfig(name="step"), 10)


def test_overrides_are_dotted_and_typed(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: m\ndata:\n  - path: a.jsonl\nschedule:\n  name: wsd\n")
    cfg = load_config(LMConfig, p, ["trainer.learning_rate=1e-4", "lora.r=4", "max_length=128", "schedule.warmup=0.2"])
    assert cfg.trainer == {"learning_rate": 1e-4} and cfg.lora.r == 4 and cfg.max_length == 128
    assert cfg.schedule.name == "wsd" and cfg.schedule.warmup == 0.2 and cfg.data[0].path == "a.jsonl"
    from ragadapt.errors import DataFormatError

    with pytest.raises(DataFormatError, match="expected int, got 'long' .field 'max_length'."):
        load_config(LMConfig, p, ["max_length=long"])


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads(path):
    from ragadapt.training import METHODS
    from ragadapt.training.validate import check_config

    method = path.stem.split("_")[0]
    cfg = load_config(METHODS[method][0], path)
    check_config(method, cfg)  # every trainer override is a field of its TRL / sentence-transformers config
    # the contextual and retriever routines make their own data from a corpus
    assert getattr(cfg, "data", None) or getattr(cfg, "stages", None) or getattr(cfg, "corpus", None)


def test_there_are_configs_for_every_method():
    from ragadapt.training import METHOD_NAMES

    assert {p.stem.split("_")[0] for p in CONFIGS} == set(METHOD_NAMES)


def test_llama_fin_recipe_is_expressible():
    from ragadapt.training.data import flatten

    cfg = load_config(LMConfig, next(p for p in CONFIGS if p.stem == "cpt_llama_fin"))
    assert [s.name for s in cfg.stages] == ["group1", "group2"]
    weights = [(s.path, round(w, 3)) for s, w in flatten(cfg.stages[0].data)]
    # 50% CPT (half domain, half general text) + 50% IT (20% domain tasks, 80% general tasks); the shipped
    # stand-ins: pydoc for the domain text, wiki-qa for both kinds of task
    assert weights == [("pydoc", 0.25), ("wiki", 0.25), ("wiki-qa", 0.1), ("wiki-qa", 0.4)]
    assert cfg.stages[1].schedule.warmup == 0.5


def test_every_routine_config_has_one_base_and_a_renamed_key_says_its_new_name(tmp_path):
    import dataclasses

    from ragadapt.errors import DataFormatError
    from ragadapt.training import METHODS, RerankerConfig
    from ragadapt.training.config import RunConfig

    for method, (cls, *_) in METHODS.items():
        assert issubclass(cls, RunConfig), method
        assert [f.name for f in dataclasses.fields(cls)][:4] == ["system", "output_dir", "seed", "resume"], method
    old = tmp_path / "reranker.yaml"
    old.write_text("base: minilm-l6\n")
    with pytest.raises(DataFormatError, match=r"`base` is now called `model`.*field 'base'"):
        load_config(RerankerConfig, old)


def test_overrides_apply_together_whatever_their_order(tmp_path, tiny_generator_dir):
    """`system=` naming a system without a generator is valid once `model=` is given, before or after it."""
    from ragadapt.training import AgentConfig
    from ragadapt.training.config import load_config

    system = tmp_path / "system"
    system.mkdir()
    (system / "manifest.json").write_text('{"kind": "rag-system", "components": {"retriever": {}}, "config": {}}')
    for order in ([f"system={system}", f"model={tiny_generator_dir}"],
                  [f"model={tiny_generator_dir}", f"system={system}"]):
        assert load_config(AgentConfig, None, order).model == str(tiny_generator_dir)
