"""DPO (Rafailov et al., 2023) on TRL's DPOTrainer, with an offline reference model, and a recipe
that builds preference pairs from the model's own sampled answers scored by a verifiable reward."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragadapt.errors import UnknownModelError
from ragadapt.training.config import DPOTrainConfig
from ragadapt.training.data import check_pairs, mixture, require_columns
from ragadapt.training.freezing import freeze_parameters, peft_config, trainable_summary
from ragadapt.training.runner import METRICS, finish, load_model, run, save_final, trl_args

log = logging.getLogger(__name__)


def dpo_defaults(cfg: DPOTrainConfig) -> dict:
    # Adaptation defaults from the tutorial: a low LR and beta 0.1.
    return {"learning_rate": 5e-7, "beta": 0.1, "max_length": cfg.max_length, "num_train_epochs": 1,
            "per_device_train_batch_size": 4, "dataset_num_proc": None}


def reference_model(cfg: DPOTrainConfig, path: str):
    """A frozen copy of the start model, loaded from its local directory (never from a hub); None with LoRA."""
    if cfg.lora is not None and cfg.ref_model is None:
        return None  # TRL uses the base model with the adapters disabled
    name = cfg.ref_model or path
    try:
        ref, _, _ = load_model(name, cfg.trust_remote_code)
    except UnknownModelError as e:
        raise UnknownModelError(
            f"reference model {name!r} cannot be loaded offline: {e}. Pass `ref_model: /local/dir` "
            "(a saved copy of the starting model), or train with `lora:` (no reference copy needed)."
        ) from e
    ref.eval().requires_grad_(False)
    return ref


def prepare_pairs(ds, source):
    """One source's preference pairs, checked row by row (ragadapt.training.data.check_pairs)."""
    require_columns(ds.column_names, ["prompt", "chosen", "rejected"], source.path)
    ds = ds.select_columns(["prompt", "chosen", "rejected"])
    check_pairs(ds, source.path)
    return ds


def train_dpo(cfg: DPOTrainConfig, method: str = "dpo"):
    from trl import DPOConfig, DPOTrainer

    out = Path(cfg.output_dir)
    train = mixture(cfg.data, cfg.replay, cfg.replay_ratio, cfg.seed, prepare_pairs)  # before the model loads
    evals = mixture(cfg.eval_data, seed=cfg.seed, prepare=prepare_pairs) if cfg.eval_data else None
    model, tokenizer, path = load_model(cfg.model, cfg.trust_remote_code)
    freeze_parameters(model, cfg.freeze)
    trainer = DPOTrainer(model=model, ref_model=reference_model(cfg, path),
                         args=trl_args(DPOConfig, cfg, out, dpo_defaults(cfg)), train_dataset=train,
                         eval_dataset=evals, processing_class=tokenizer, peft_config=peft_config(cfg.lora))
    log.info("dpo: %s; %d pairs", trainable_summary(trainer.model), len(train))
    step, chosen = run(trainer, cfg, out, out / METRICS)
    final = save_final(trainer.model, tokenizer, out, cfg, method, chosen)
    return finish(out, final, step, chosen)


@dataclass
class PairStats:
    prompts: int = 0
    pairs: int = 0
    all_correct: int = 0
    all_wrong: int = 0


def build_preference_pairs(generator, prompts: Sequence, answers: Sequence[Sequence[str]],
                           reward: Callable[[str, Sequence[str]], float], n_samples: int = 4,
                           temperature: float = 0.8, max_new_tokens: int = 48,
                           threshold: float = 0.5) -> tuple[list[dict], PairStats]:
    """Final-answer preference pairs from the model's own samples.

    For each prompt, sample `n_samples` answers; the best-scoring one at or above `threshold` is
    chosen, the worst-scoring one below it rejected. Prompts whose samples are all right or all wrong
    give no pair (counted). `prompts` are strings or chat messages; `reward(answer, golds)` in [0, 1].
    """
    stats = PairStats(prompts=len(prompts))
    repeated = [p for p in prompts for _ in range(n_samples)]
    samples = generator.generate(repeated, max_new_tokens=max_new_tokens, temperature=temperature)
    pairs = []
    for i, (prompt, golds) in enumerate(zip(prompts, answers)):
        scored = sorted(((reward(s, golds), s) for s in samples[i * n_samples:(i + 1) * n_samples]),
                        key=lambda t: -t[0])
        good = [s for s in scored if s[0] >= threshold]
        bad = [s for s in scored if s[0] < threshold]
        if not good:
            stats.all_wrong += 1
        elif not bad:
            stats.all_correct += 1
        else:
            pairs.append({"prompt": prompt, "chosen": good[0][1], "rejected": bad[-1][1]})
    stats.pairs = len(pairs)
    log.info("preference pairs: %d from %d prompts (%d all correct, %d all wrong: skipped)",
             stats.pairs, stats.prompts, stats.all_correct, stats.all_wrong)
    return pairs, stats
