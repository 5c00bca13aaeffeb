"""Training cores over TRL: CPT, SFT, DPO, GRPO, RLOO (configs, data mixing, masking, schedules,
freezing/LoRA, checkpoints and resume)."""

from __future__ import annotations

from ragadapt.training.config import (
    AgentConfig, ContextualConfig, DPOTrainConfig, LMConfig, LoraSettings, RLConfig, ScheduleConfig, Source, StageConfig, TrainConfig,
    load_config,
)
from ragadapt.training.retrieval.config import BridgeConfig, RADITConfig, ReplugConfig, RerankerConfig


def methods() -> dict:
    """method name -> (config class, train function). Imports the trainers lazily."""
    from ragadapt.training.agent import train_agent
    from ragadapt.training.bridge import train_bridge
    from ragadapt.training.contextual import train_contextual
    from ragadapt.training.dpo import train_dpo
    from ragadapt.training.lm import train_lm
    from ragadapt.training.retrieval.ra_dit import train_ra_dit
    from ragadapt.training.retrieval.replug import train_replug
    from ragadapt.training.retrieval.reranker import train_reranker
    from ragadapt.training.rl import train_rl

    from ragadapt.training.compose import adapts_generator

    return {
        "cpt": (LMConfig, adapts_generator(lambda cfg: train_lm(cfg, "cpt"), "cpt")),
        "sft": (LMConfig, adapts_generator(lambda cfg: train_lm(cfg, "sft"), "sft")),
        "dpo": (DPOTrainConfig, adapts_generator(lambda cfg: train_dpo(cfg, "dpo"), "dpo")),
        "grpo": (RLConfig, adapts_generator(lambda cfg: train_rl(cfg, "grpo"), "grpo")),
        "rloo": (RLConfig, adapts_generator(lambda cfg: train_rl(cfg, "rloo"), "rloo")),
        "generator-contextual": (ContextualConfig, adapts_generator(train_contextual, "generator-contextual")),
        "retriever-replug": (ReplugConfig, train_replug),
        "reranker": (RerankerConfig, train_reranker),
        "ra-dit": (RADITConfig, train_ra_dit),
        "bridge": (BridgeConfig, train_bridge),
        "agent": (AgentConfig, adapts_generator(train_agent, "agent")),
    }


METHOD_NAMES = ("cpt", "sft", "dpo", "grpo", "rloo", "generator-contextual", "retriever-replug",
                "reranker", "ra-dit", "bridge", "agent")

__all__ = [
    "AgentConfig", "ContextualConfig", "DPOTrainConfig", "LMConfig", "LoraSettings", "METHOD_NAMES", "RLConfig", "BridgeConfig", "RADITConfig", "ReplugConfig", "RerankerConfig", "ScheduleConfig", "Source",
    "StageConfig", "TrainConfig", "load_config", "methods",
]
