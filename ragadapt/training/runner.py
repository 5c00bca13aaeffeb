"""What every training method shares: model loading, TRL config assembly, resume, the NaN guard,
metrics, the final atomic save with a manifest, and the loss plot."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragadapt.errors import DataFormatError, RagadaptError
from ragadapt.training.callbacks import JsonlMetrics, NanGuard
from ragadapt.training.config import ScheduleConfig, TrainConfig, to_dict
from ragadapt.training.schedules import trainer_fields

log = logging.getLogger(__name__)

FINAL = "final"
METRICS = "metrics.jsonl"


class TrainingDiverged(RagadaptError):
    """The loss became NaN/inf; training stopped and no checkpoint after it was written."""


@dataclass
class TrainResult:
    """What a run made. `final_dir`/`component_dir`: the trained component (a model directory, or a system's
    component directory); `system_dir`: the complete system with it (None when the run was given no system)."""

    output_dir: Path
    final_dir: Path
    global_step: int
    losses: list[float] = field(default_factory=list)
    plot: Path | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    system_dir: Path | None = None

    @property
    def component_dir(self) -> Path:
        return self.final_dir

    def summary(self, method: str) -> str:
        where = f"system: {self.system_dir} (adapted component: {self.component_dir})" if self.system_dir else (
            f"model: {self.component_dir} (try it in a system: ragadapt ask runs/wiki --generator "
            f"{self.component_dir} \"...\")")
        return (f"{method}: {self.global_step} steps; {where}" + (f"; loss curve: {self.plot}" if self.plot else ""))


def load_model(name: str, trust_remote_code: bool = False):
    """(model, tokenizer, local path) in bf16 on a GPU that supports it, fp32 on CPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ragadapt.errors import UnknownModelError
    from ragadapt.models import hub_load_hint, resolve_model

    path = resolve_model(name, kind="generator")
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, trust_remote_code=trust_remote_code)
    except OSError as e:
        raise UnknownModelError(hub_load_hint(name, "generator")) from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, path


def _device_fields(fields: set[str]) -> dict[str, Any]:
    """Mixed precision (bf16 autocast over fp32 master weights) wherever bf16 is native: GPUs with bf16 and CPUs with
    AMX / AVX512-BF16 (a SmolLM2 SFT step of 2 x 512 tokens: 2.9 s against 5.2-6.3 s in fp32 on an AMX Xeon);
    fp32 elsewhere. `trainer: {bf16: false}` trains in fp32."""
    import torch

    from ragadapt.device import native_bf16

    cuda = torch.cuda.is_available()
    out = {"use_cpu": not cuda, "bf16": native_bf16("cuda" if cuda else "cpu")}
    if "fp16" in fields:
        out["fp16"] = False
    if not cuda:  # recomputing activations saves GPU memory; on a CPU it only costs time (measured ~2x per step)
        for name in ("gradient_checkpointing", "activation_checkpointing"):
            if name in fields:
                out[name] = False
    return out


def trl_args(config_cls, cfg: TrainConfig, output_dir: Path, defaults: dict[str, Any],
             overrides: dict[str, Any] | None = None):
    """Build a TRL config: device defaults < method defaults < the run's `trainer` < the stage's."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    values: dict[str, Any] = {
        "output_dir": str(output_dir), "seed": cfg.seed, "report_to": "none", "logging_steps": 1,
        "save_steps": 50, "save_total_limit": 2, "disable_tqdm": False, **_device_fields(fields), **defaults,
    }
    for source in (cfg.trainer, overrides or {}):
        for key, value in source.items():
            # transformers renamed gradient_checkpointing -> activation_checkpointing (5.17 vs 5.23)
            if key in ("gradient_checkpointing", "activation_checkpointing") and key not in fields:
                key = "activation_checkpointing" if key == "gradient_checkpointing" else "gradient_checkpointing"
            if key not in fields:
                raise DataFormatError(f"{config_cls.__name__} has no field {key!r}", field=f"trainer.{key}")
            values[key] = value
    return config_cls(**{k: v for k, v in values.items() if k in fields})


def total_steps(trainer) -> int:
    args = trainer.args
    if args.max_steps and args.max_steps > 0:
        return int(args.max_steps)
    batches = len(trainer.get_train_dataloader())
    return max(1, math.ceil(batches / args.gradient_accumulation_steps) * math.ceil(args.num_train_epochs))


def apply_schedule(trainer, schedule: ScheduleConfig) -> None:
    """Install the schedule on the trainer's args once the number of steps is known."""
    for key, value in trainer_fields(schedule, total_steps(trainer)).items():
        setattr(trainer.args, key, value)


def resume_point(resume: str, output_dir: Path) -> str | None:
    from ragadapt.training.fingerprint import last_complete_checkpoint

    if resume == "never":
        return None
    if resume == "auto":
        last = last_complete_checkpoint(output_dir)
        if last:
            log.info("resuming from %s", last)
        return last
    if not Path(resume).is_dir():
        raise DataFormatError(f"checkpoint {resume!r} does not exist", field="resume")
    return resume


def _reached_max_steps(trainer, checkpoint: str) -> bool:
    """A checkpoint already at `max_steps` is loaded instead of resumed: transformers would train one more
    step past it (its step-count check runs only after a step), so rerunning a finished run changed it."""
    from transformers import TrainerState

    state_file = Path(checkpoint) / "trainer_state.json"
    max_steps = trainer.args.max_steps
    if not (max_steps and max_steps > 0 and state_file.exists()):
        return False
    state = TrainerState.load_from_json(str(state_file))
    if state.global_step < max_steps:
        return False
    trainer._load_from_checkpoint(checkpoint)  # the weights (full or adapters) as the checkpoint has them
    trainer.state = state
    log.info("%s is already at max_steps=%d: loaded, not trained further", checkpoint, max_steps)
    return True


def run(trainer, cfg: TrainConfig, output_dir: Path, metrics_path: Path, stage: str | None = None,
        schedule: ScheduleConfig | None = None, stage_config: dict | None = None) -> tuple[int, dict]:
    """Train with metrics, the LR schedule and the NaN guard, keeping the best dev-select step when the config
    asks for it; returns (the global step reached, {"dev_select": the choice} or {})."""
    apply_schedule(trainer, schedule or cfg.schedule)
    config = to_dict(cfg) if stage_config is None else {**to_dict(cfg), "stage": stage_config}
    best = keep_best(cfg, output_dir)
    if best is not None:
        trainer.add_callback(best)
    step = train_guarded(trainer, cfg.resume, output_dir, metrics_path, stage, config)
    return step, ({"dev_select": best.restore(trainer.model, output_dir)} if best is not None else {})


def keep_best(cfg: TrainConfig, output_dir: Path):
    """The early-stopping callback when `dev_select` is set: dev questions answered end to end through `system`."""
    if not cfg.dev_select:
        return None
    if cfg.dev_select_tolerance is not None and cfg.dev_select_tolerance >= 1.0:  # no score can choose another step
        log.info("dev_select_tolerance %s keeps the last step whatever dev-select scores: it is not scored during "
                 "training", cfg.dev_select_tolerance)
        return None
    from ragadapt.training.best import SCORES, BestCheckpoint, answer_scorer
    from ragadapt.training.retrieval.evaluation import dev_examples

    if not cfg.system:
        raise DataFormatError("dev_select answers questions through a RAG system: set `system` too, or "
                              "dev_select: null", field="dev_select")
    examples = dev_examples(cfg.dev_select)[: cfg.dev_select_max]
    return BestCheckpoint(answer_scorer(cfg.system, examples), output_dir / SCORES, label=cfg.dev_select,
                          tolerance=cfg.dev_select_tolerance)


def train_guarded(trainer, resume: str, output_dir: Path, metrics_path: Path, stage: str | None = None,
                  config: dict | None = None) -> int:
    """Any transformers-style trainer (TRL, sentence-transformers): metrics to JSONL, resume, NaN guard. With
    `config` (the run's resolved config as a dict), checkpoints in `output_dir` are resumed only when they were
    made with the same fingerprint (ragadapt.training.fingerprint)."""
    if config is not None:
        from ragadapt.training import fingerprint

        fingerprint.check(output_dir, fingerprint.make(config), resume, "checkpoints")
    guard = NanGuard()
    trainer.add_callback(JsonlMetrics(metrics_path, stage))
    trainer.add_callback(guard)
    checkpoint = resume_point(resume, output_dir)
    if checkpoint and _reached_max_steps(trainer, checkpoint):
        return int(trainer.state.global_step)
    trainer.train(resume_from_checkpoint=checkpoint)
    # Under mixed precision accelerate leaves the model's forward wrapped in autocast; a routine that goes on using
    # the trained model (RA-DIT's evaluation of its R-ft retriever, a report) must use it as served (fp32).
    trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    if guard.bad_step is not None:
        from ragadapt.training.fingerprint import last_complete_checkpoint

        last = last_complete_checkpoint(output_dir)
        raise TrainingDiverged(
            f"the loss became NaN/inf at step {guard.bad_step}; training stopped. Last good checkpoint: "
            f"{last or 'none yet'}. Lower trainer.learning_rate or check the data, then rerun (resume=auto "
            "continues from that checkpoint)."
        )
    return int(trainer.state.global_step)


def save_final(model, tokenizer, output_dir: Path, cfg: TrainConfig, method: str, extra: dict | None = None) -> Path:
    """Write OUTPUT_DIR/final atomically: weights (LoRA merged if asked), tokenizer, manifest."""
    from ragadapt.training.freezing import merged_for_saving

    from ragadapt.generation.base import save_model_dir
    from ragadapt.generation.hf import TransformersGenerator

    to_save = merged_for_saving(model, cfg.lora)
    card = model_card(output_dir, cfg.model)
    return save_model_dir(to_save, tokenizer, output_dir / FINAL, TransformersGenerator.kind, model_card=card,
                          method=method, base_model=cfg.model, config=to_dict(cfg), **(extra or {}))


def model_card(output_dir: Path, base_model: str) -> str | None:
    """TRL writes its model card (README.md) into the run's folder at each checkpoint, naming the base model
    "None" when the model has no hub name: it belongs with the model it describes, under the real base name."""
    import re

    card = output_dir / "README.md"
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8")
    text = re.sub(r"^base_model: .*$", f"base_model: {base_model}", text, count=1, flags=re.MULTILINE)
    card.unlink()
    return text


def finish(output_dir: Path, final: Path, step: int, stats: dict | None = None,
           system_dir: Path | None = None) -> TrainResult:
    import json

    from ragadapt.training.plot import plot_metrics

    metrics = output_dir / METRICS
    losses = []
    plot = None
    if metrics.exists():
        losses = [r["loss"] for r in map(json.loads, metrics.read_text().splitlines()) if "loss" in r]
        plot = plot_metrics(metrics, output_dir / "loss.png")
    log.info("trained to step %d; final model in %s%s", step, final, f"; curve: {plot}" if plot else "")
    return TrainResult(output_dir, final, step, losses, plot, stats or {}, system_dir)
