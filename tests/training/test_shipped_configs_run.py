"""Every config in configs/train/ runs as shipped for a few steps: its own fields, routine and data recipes, with
only the sizes shrunk (tiny models, a handful of questions, one or two optimizer steps) and its runs/ paths moved
into a temporary folder. Loading alone (test_schedules_config) does not catch a field the routine rejects when it
starts, a freeze pattern that matches nothing, or a data recipe that cannot be made."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs" / "train").glob("*.yaml"))

# field -> the value it is shrunk to (fields a config does not have are left alone)
SMALL = {"max_train": 8, "max_test": 4, "max_documents": 60, "max_answer_eval": 2, "warmup_examples": 4,
         "lm_max_train": 4, "rl_max_train": 4, "sft_max_train": 4, "max_eval": 2, "dev_select_max": 2,
         "lm_dev_select_max": 2, "merge_max": 2, "faithfulness_max": 2, "general_texts": 2}
# at most this many
AT_MOST = {"max_length": 1280, "max_prompt_tokens": 384, "max_new_tokens": 16,
           "max_steps": 2}
# the trainer overrides of every routine: one or two optimizer steps
TRAINER_STEPS = {"max_steps": 2, "logging_steps": 1, "save_steps": 1}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, tiny_embedder_dir, tiny_generator_dir):
    """A folder whose runs/wiki is a tiny system over the bundled corpus (the tiny generator stored inside)."""
    from ragadapt.system import RAGSystem

    root = tmp_path_factory.mktemp("shipped")
    system = RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=300, device="cpu",
                             show_progress=False)
    system.generator_ref = str(tiny_generator_dir)
    system.save(root / "runs" / "wiki")
    return root


def _param_names(tiny_generator_dir) -> list[str]:
    from transformers import AutoModelForCausalLM

    return [n for n, _ in AutoModelForCausalLM.from_pretrained(tiny_generator_dir).named_parameters()]


def shrink(value, root: Path, models: dict[str, str], names: list[str], key: str | None = None):
    """The shipped value with sizes made tiny, models swapped for tiny ones and runs/ paths under `root`."""
    if isinstance(value, dict):
        out = {k: shrink(v, root, models, names, k) for k, v in value.items()}
        if key is not None and key.endswith("trainer"):
            out.update(TRAINER_STEPS)
            for field in ("per_device_train_batch_size", "num_generations"):  # 2 divides 2: GRPO's rule holds
                if field in out:
                    out[field] = min(out[field], 2)
        if "path" in out and isinstance(out.get("path"), str):  # a data source
            out["limit"] = min(out.get("limit") or 16, 16)
        return out
    if isinstance(value, list):
        if key in ("freeze", "lm_freeze"):  # the tiny model has 2 layers: keep the patterns that name one of them
            kept = [p for p in value if any(fnmatch.fnmatchcase(n, p) for n in names)]
            return kept or ["model.embed_tokens.*"]
        return [shrink(v, root, models, names) for v in value]
    if isinstance(value, str):
        if value in models:
            return models[value]
        if value == "runs/wiki" or value.startswith("runs/wiki/"):  # the system every routine starts from
            return str(root.parent / value)
        if value.startswith("runs/"):
            return str(root / value)
        return value
    if key in SMALL and isinstance(value, int) and not isinstance(value, bool):
        return min(value, SMALL[key])
    if key in AT_MOST and isinstance(value, int) and not isinstance(value, bool):
        return min(value, AT_MOST[key])
    return value


def _small_config(path: Path, root: Path, tiny_embedder_dir, tiny_generator_dir) -> dict:
    models = {"smollm2-135m-instruct": str(tiny_generator_dir), "smollm2-135m": str(tiny_generator_dir),
              "minilm-l6": str(tiny_embedder_dir)}
    from dataclasses import MISSING, fields

    from ragadapt.training import METHODS

    shipped = yaml.safe_load(path.read_text(encoding="utf-8"))
    names_of_params = _param_names(tiny_generator_dir)
    small = shrink(shipped, root / path.stem, models, names_of_params)
    names = {f.name for f in fields(METHODS[path.stem.split("_")[0]][0])}
    if "model" in names and not small.get("model") and not small.get("system"):  # the default model: the bundled one
        small["model"] = str(tiny_generator_dir)
    for f in fields(METHODS[path.stem.split("_")[0]][0]):  # a default model the config leaves as it is
        if f.name not in small and f.default is not MISSING and f.default in models:
            small[f.name] = models[f.default]
    for stage in small.get("stages") or []:  # the pipeline's stages and a staged CPT
        if stage.get("config"):  # a stage's config file is a shipped config too: shrunk alike, its fields over it
            inlined = shrink(yaml.safe_load((ROOT / stage.pop("config")).read_text(encoding="utf-8")),
                             root / path.stem, models, names_of_params)
            stage["fields"] = {**inlined, **stage.get("fields", {})}
        for field, value in SMALL.items():
            if field in stage.get("fields", {}):
                stage["fields"][field] = min(stage["fields"][field], value)
    return small


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_config_runs_a_few_steps(path, tiny_runs, tiny_embedder_dir, tiny_generator_dir):
    from ragadapt.training import METHODS, routine
    from ragadapt.training.config import from_dict
    from ragadapt.training.validate import check_config

    method = path.stem.split("_")[0]
    cfg = from_dict(METHODS[method][0], _small_config(path, tiny_runs, tiny_embedder_dir, tiny_generator_dir))
    check_config(method, cfg)
    result = routine(method)(cfg)
    assert Path(result.final_dir).is_dir(), result
    if getattr(cfg, "system", None):  # a routine given a system hands one on
        assert (Path(result.system_dir) / "manifest.json").is_file()
