"""Training cores over TRL (CPT, SFT, DPO, GRPO, RLOO: configs, data mixing, masking, schedules, freezing/LoRA,
checkpoints and resume) and the adaptation routines of each component, registered in one place: `METHODS`."""

from __future__ import annotations

import importlib

from ragadapt.training.config import (
    AgentConfig, ContextualConfig, DPOTrainConfig, LMConfig, LoraSettings, RLConfig, ScheduleConfig, Source, StageConfig, TrainConfig,
    load_config,
)
from ragadapt.training.pipeline import PipelineConfig
from ragadapt.training.retrieval.config import BridgeConfig, RADITConfig, ReplugConfig, RerankerConfig

# The one registry of methods: name -> (config class, "module:function" of the routine, what it adapts, summary).
# The CLI (`ragadapt train METHOD`), the pipeline's stages and `--help` all read it; the routines are imported
# only when one runs (TRL and sentence-transformers take seconds to import).
METHODS: dict[str, tuple[type, str, str, str]] = {
    "cpt": (LMConfig, "ragadapt.training.lm:train_cpt", "generator", "continued pre-training on text"),
    "sft": (LMConfig, "ragadapt.training.lm:train_sft", "generator", "supervised fine-tuning on chat / text"),
    "dpo": (DPOTrainConfig, "ragadapt.training.dpo:train_dpo", "generator", "direct preference optimisation"),
    "grpo": (RLConfig, "ragadapt.training.rl:train_grpo", "generator", "GRPO with reward functions"),
    "rloo": (RLConfig, "ragadapt.training.rl:train_rloo", "generator", "RLOO with reward functions"),
    "generator-contextual": (ContextualConfig, "ragadapt.training.contextual:train_contextual", "generator",
                             "a generator faithful to its passages (SFR-RAG style contextual SFT)"),
    "retriever-replug": (ReplugConfig, "ragadapt.training.retrieval.replug:train_replug", "retriever",
                         "align the retriever with the generator (REPLUG LSR)"),
    "reranker": (RerankerConfig, "ragadapt.training.retrieval.reranker:train_reranker", "reranker",
                 "a cross-encoder reranker distilled from the generator"),
    "ra-dit": (RADITConfig, "ragadapt.training.retrieval.ra_dit:train_ra_dit", "generator and retriever",
               "RA-DIT: LM-ft then R-ft"),
    "bridge": (BridgeConfig, "ragadapt.training.bridge:train_bridge", "bridge",
               "a BGM bridge between retriever and generator (silver SFT, then GRPO)"),
    "agent": (AgentConfig, "ragadapt.training.agent:train_agent", "generator (search policy)",
              "RL of the ReAct search policy (Search-R1 style)"),
    "pipeline": (PipelineConfig, "ragadapt.training.pipeline:run_pipeline", "each stage's component",
                 "stages in order, each from the previous stage's system, then one comparison"),
}
METHOD_NAMES = tuple(METHODS)


def routine(method: str):
    """The train function of `method`; generator-side routines given a `system` also write OUTPUT_DIR/system, and
    every routine that adapts a system merges it back towards its input when its config sets `merge`."""
    from ragadapt.training.compose import adapts_generator
    from ragadapt.training.merged_run import merging

    module, name = METHODS[method][1].split(":")
    train = getattr(importlib.import_module(module), name)
    if method == "pipeline":  # each stage is a routine of its own, merged (or not) by its own fields
        return train
    adapts = METHODS[method][2]
    return merging(adapts_generator(train, method) if adapts.startswith("generator") and method != "ra-dit"
                   else train, adapts, method)


def methods() -> dict:
    """method name -> (config class, train function). Imports the trainers."""
    return {name: (spec[0], routine(name)) for name, spec in METHODS.items()}


__all__ = [
    "AgentConfig", "ContextualConfig", "DPOTrainConfig", "LMConfig", "LoraSettings", "METHODS", "METHOD_NAMES",
    "PipelineConfig", "RLConfig", "BridgeConfig", "RADITConfig", "ReplugConfig", "RerankerConfig", "ScheduleConfig",
    "Source", "StageConfig", "TrainConfig", "load_config", "methods", "routine",
]
