"""GRPO (Shao et al., 2024) and RLOO (Ahmadian et al., 2024) on TRL, with verifiable rewards.

Rewards are plain callables `(prompts, completions, **columns) -> list[float]` (see rewards.py).
Multi-turn tool rollouts use TRL's own support: pass `tools=[...]` (functions) or
`environment_factory=...` to `train_rl`; TRL masks the tool-result tokens out of the loss. Policies whose
chat template TRL cannot parse tool calls from play their episodes through `rollout_func` instead
(ragadapt.agents.rollout: token-level ReAct episodes with an observation mask). vLLM
generates the rollouts when the extra is installed and a GPU is present.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from ragadapt.training.config import RLConfig
from ragadapt.training.data import mixture, require_columns
from ragadapt.training.freezing import freeze_parameters, peft_config, trainable_summary
from ragadapt.errors import DataFormatError
from ragadapt.training.rewards import import_function, resolve_reward
from ragadapt.training.runner import METRICS, finish, load_model, run, save_final, trl_args

log = logging.getLogger(__name__)


def rl_defaults(cfg: RLConfig) -> dict:
    import torch

    use_vllm = torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None
    return {"learning_rate": 1e-6, "num_generations": 4, "max_completion_length": 64, "beta": 0.0,
            "temperature": 1.0, "per_device_train_batch_size": 4, "num_train_epochs": 1,
            "reward_weights": cfg.reward_weights, "use_vllm": use_vllm,
            **({"vllm_mode": "colocate"} if use_vllm else {})}


def train_rl(cfg: RLConfig, method: str = "grpo", tools=None, environment_factory=None, reward_funcs=None,
             rollout_func=None):
    """`reward_funcs`: extra reward callables (e.g. closures over a frozen model) after the named ones.
    `rollout_func`: TRL's custom rollout (GRPO only), e.g. the agents' multi-turn ReAct episodes."""
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    config_cls, trainer_cls = (GRPOConfig, GRPOTrainer) if method == "grpo" else (RLOOConfig, RLOOTrainer)
    out = Path(cfg.output_dir)
    model, tokenizer, _ = load_model(cfg.model, cfg.trust_remote_code)
    freeze_parameters(model, cfg.freeze)
    rewards = [resolve_reward(name) for name in cfg.rewards] + list(reward_funcs or [])

    def prepare(ds, source):
        require_columns(ds.column_names, ["prompt"], source.path)
        return ds

    train = mixture(cfg.data, cfg.replay, cfg.replay_ratio, cfg.seed, prepare)
    extra = {}
    tools = list(tools or []) + [import_function(t, "tools") for t in cfg.tools]
    if tools:
        extra["tools"] = tools
    if environment_factory is not None:
        extra["environment_factory"] = environment_factory
    if rollout_func is not None:
        extra["rollout_func"] = rollout_func
    try:
        trainer = trainer_cls(model=model, reward_funcs=rewards, args=trl_args(config_cls, cfg, out, rl_defaults(cfg)),
                              train_dataset=train, processing_class=tokenizer, peft_config=peft_config(cfg.lora),
                              **extra)
    except ValueError as e:
        if extra and "chat template" in str(e):
            raise DataFormatError(
                f"tool rollouts need a chat template TRL can parse tool calls from (Qwen 2.5/3, Llama 3.x, "
                f"GPT-OSS, GLM-4...); the template of {cfg.model!r} is not one of them ({e})", field="tools") from e
        raise
    log.info("%s: %s; %d prompts; rewards %s", method, trainable_summary(trainer.model), len(train), cfg.rewards)
    step, chosen = run(trainer, cfg, out, out / METRICS)
    final = save_final(trainer.model, tokenizer, out, cfg, method, chosen)
    return finish(out, final, step, chosen)


def train_grpo(cfg: RLConfig):
    return train_rl(cfg, "grpo")


def train_rloo(cfg: RLConfig):
    return train_rl(cfg, "rloo")
