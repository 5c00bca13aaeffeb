"""Checks a run's trainer fields before any model loads: a typo under `trainer:` or `max_steps=abc` is one line
at once, not a traceback after minutes of loading and data preparation.

Each method's config has dict fields whose keys go to a TRL / sentence-transformers config class; every key
must be a field of that class and every value of the field's type. `report_to` integrations must be installed.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import typing

from ragadapt.errors import DataFormatError, MissingExtraError

SFT, DPO, GRPO, RLOO = "trl:SFTConfig", "trl:DPOConfig", "trl:GRPOConfig", "trl:RLOOConfig"
ST = "sentence_transformers:SentenceTransformerTrainingArguments"
CE = "sentence_transformers.cross_encoder:CrossEncoderTrainingArguments"

# method -> {config field holding trainer overrides: the class they are passed to}
TRAINER_FIELDS: dict[str, dict[str, str]] = {
    "cpt": {"trainer": SFT}, "sft": {"trainer": SFT}, "dpo": {"trainer": DPO}, "grpo": {"trainer": GRPO},
    "rloo": {"trainer": RLOO}, "generator-contextual": {"trainer": SFT, "dpo_trainer": DPO},
    "retriever-replug": {"trainer": ST}, "reranker": {"trainer": CE}, "ra-dit": {"trainer": ST, "lm_trainer": SFT},
    "bridge": {"sft_trainer": SFT, "rl_trainer": GRPO}, "agent": {"warmup_trainer": SFT, "trainer": GRPO},
}
# report_to value -> the package it needs, and the ragadapt extra that installs it
INTEGRATIONS = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"),
                "trackio": ("trackio", "trackio"), "mlflow": ("mlflow", "mlflow")}
RENAMED = {"gradient_checkpointing": "activation_checkpointing", "activation_checkpointing": "gradient_checkpointing"}


def _class(spec: str):
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _type_ok(tp, value) -> bool:
    """Loose check of a YAML value against a dataclass annotation: simple types only, anything else passes."""
    if isinstance(tp, str):
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return value is None or any(_type_ok(a, value) for a in typing.get_args(tp) if a is not type(None))
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    return True


def check_fields(spec: str, values: dict, where: str) -> None:
    cls = _class(spec)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # some configs annotate with names only their own module resolves
        hints = {name: f.type for name, f in fields.items()}
    for key, value in values.items():
        name = key if key in fields else RENAMED.get(key, key)
        if name not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataFormatError(f"{cls.__name__} has no field {key!r}{hint}", field=f"{where}.{key}")
        if not _type_ok(hints.get(name, fields[name].type), value):
            raise DataFormatError(f"expected {getattr(hints.get(name), '__name__', hints.get(name))}, got {value!r}",
                                  field=f"{where}.{key}")
    report = values.get("report_to")
    for target in ([report] if isinstance(report, str) else report or []):
        if target in INTEGRATIONS and importlib.util.find_spec(INTEGRATIONS[target][0]) is None:
            raise MissingExtraError(INTEGRATIONS[target][0], INTEGRATIONS[target][1], f"{where}.report_to={target}")


def check_config(method: str, cfg) -> None:
    """Every trainer-override field of `cfg` (and of a curriculum's stages; of a pipeline's stages)."""
    if method == "pipeline":
        from ragadapt.training.pipeline import stage_config

        for index, stage in enumerate(cfg.stages, start=1):
            stage_cfg, _ = stage_config(cfg, index, stage, cfg.system)
            try:
                check_config(stage.method, stage_cfg)
            except DataFormatError as e:
                raise DataFormatError(f"stage {index} ({stage.name or stage.method}): {e}") from e
        return
    for name, spec in TRAINER_FIELDS.get(method, {}).items():
        check_fields(spec, getattr(cfg, name) or {}, name)
        for i, stage in enumerate(getattr(cfg, "stages", None) or []):
            if name == "trainer":
                check_fields(spec, stage.trainer or {}, f"stages[{i}].trainer")
