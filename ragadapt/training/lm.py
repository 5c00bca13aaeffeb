"""CPT and SFT: next-token loss with packing, loss masking and cross-document attention masking.

Both run TRL's SFTTrainer on examples we tokenise ourselves (`tokenize.py` gives every masking
variant for any chat template); TRL packs them best-fit into `max_length` rows and, padding-free,
restarts position ids per example, so no token attends across an example boundary. Text and chat
sources can be mixed in one run (joint CPT+SFT); stages run one after the other (a curriculum, each
stage re-warming and re-decaying its LR).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ragadapt.training import fingerprint
from ragadapt.training.config import LMConfig, StageConfig, to_dict
from ragadapt.training.data import mixture
from ragadapt.training.freezing import freeze_parameters, peft_config, trainable_summary
from ragadapt.training.runner import METRICS, finish, load_model, run, save_final, trl_args
from ragadapt.training.tokenize import PrepareStats, tokenize_dataset

log = logging.getLogger(__name__)
DONE = "stage_done.json"


def lm_dataset(sources, replay, replay_ratio, cfg: LMConfig, tokenizer, stats: PrepareStats):
    def prepare(ds, source):
        return tokenize_dataset(ds, tokenizer, cfg.max_length, cfg.masking, cfg.mask_context, stats, source.path)

    return mixture(sources, replay, replay_ratio, cfg.seed, prepare)


def sft_defaults(cfg: LMConfig) -> dict:
    return {"max_length": cfg.max_length, "packing": cfg.packing, "packing_strategy": "bfd",
            "padding_free": cfg.packing, "learning_rate": 2e-5, "num_train_epochs": 1,
            "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "dataset_num_proc": None}


def _stages(cfg: LMConfig) -> list[StageConfig]:
    if cfg.stages:
        return cfg.stages
    return [StageConfig(name="", data=cfg.data, replay=cfg.replay, replay_ratio=cfg.replay_ratio)]


def train_lm(cfg: LMConfig, method: str = "sft"):
    """Train a causal LM on the config's mixture (or stages); returns a TrainResult."""
    from trl import SFTConfig, SFTTrainer

    out = Path(cfg.output_dir)
    model, tokenizer, _ = load_model(cfg.model, cfg.trust_remote_code)
    freeze_parameters(model, cfg.freeze)
    stats = PrepareStats()
    step, stages, chosen = 0, _stages(cfg), {}
    for i, stage in enumerate(stages):
        stage_dir = out / stage.name if stage.name else out
        same = fingerprint.matches(stage_dir, fingerprint.make(to_dict(cfg)))
        if (stage_dir / DONE).exists() and len(stages) > 1 and same and cfg.resume != "never":
            log.info("stage %s already done; loading its weights", stage.name)
            model, tokenizer, _ = load_model(str(stage_dir / "final"), cfg.trust_remote_code)
            continue
        train = lm_dataset(stage.data, stage.replay, stage.replay_ratio, cfg, tokenizer, stats)
        evals = lm_dataset(cfg.eval_data, [], 0.0, cfg, tokenizer, PrepareStats()) if cfg.eval_data else None
        args = trl_args(SFTConfig, cfg, stage_dir, sft_defaults(cfg), stage.trainer)
        trainer = SFTTrainer(model=model, args=args, train_dataset=train, eval_dataset=evals,
                             processing_class=tokenizer, peft_config=peft_config(cfg.lora))
        log.info("%s%s: %s; %s", method, f" stage {stage.name}" if stage.name else "",
                 trainable_summary(trainer.model), stats.summary())
        step, chosen = run(trainer, cfg, stage_dir, out / METRICS, stage.name or None, stage.schedule)
        model = trainer.model
        if i < len(stages) - 1:  # an intermediate stage leaves a loadable model and a done marker
            save_final(model, tokenizer, stage_dir, cfg, method)
            (stage_dir / DONE).write_text(json.dumps({"step": step}))
            if cfg.lora is not None:  # save_final merged the adapters; the next stage adds fresh ones
                model = model.get_base_model() if hasattr(model, "get_base_model") else model
    final = save_final(model, tokenizer, out, cfg, method, {"data_stats": stats.__dict__, **chosen})
    return finish(out, final, step, {**stats.__dict__, **chosen})


def train_cpt(cfg: LMConfig):
    """Continued pre-training (text examples; chat examples train on every non-markup token)."""
    return train_lm(cfg, "cpt")


def train_sft(cfg: LMConfig):
    return train_lm(cfg, "sft")
