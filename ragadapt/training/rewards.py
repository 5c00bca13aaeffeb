"""Verifiable rewards for GRPO/RLOO, as TRL expects: `(prompts, completions, **columns) -> list[float]`.

The reference answers come from the dataset's `answers` (list) or `answer` (string) column.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from ragadapt.errors import DataFormatError
from ragadapt.eval.metrics import answer_contains, exact_match, f1_score

RewardFn = Callable[..., list[float]]


def completion_text(completion) -> str:
    """A completion is a string, or (conversational) a list of messages: take the last assistant content."""
    if isinstance(completion, str):
        return completion
    contents = [m.get("content") or "" for m in completion if m.get("role") == "assistant"]
    return contents[-1] if contents else ""


def gold_answers(columns: dict, n: int) -> list[list[str]]:
    if "answers" in columns:
        golds = columns["answers"]
    elif "answer" in columns:
        golds = columns["answer"]
    else:
        raise DataFormatError(f"the reward needs an `answers` or `answer` column; columns are {sorted(columns)}")
    return [[g] if isinstance(g, str) else list(g) for g in golds][:n]


def _metric_reward(metric, name: str) -> RewardFn:
    def reward(prompts, completions, **columns) -> list[float]:
        golds = gold_answers(columns, len(completions))
        return [metric(completion_text(c), g) for c, g in zip(completions, golds)]

    reward.__name__ = name
    return reward


em_reward = _metric_reward(exact_match, "em")
f1_reward = _metric_reward(f1_score, "f1")
contains_reward = _metric_reward(answer_contains, "contains")


def format_reward_for(pattern: str = r"^[^\n]{1,200}$", name: str = "format") -> RewardFn:
    """1.0 when the whole completion matches `pattern` (default: one non-empty line of <= 200 chars)."""
    regex = re.compile(pattern, re.DOTALL)

    def reward(prompts, completions, **columns) -> list[float]:
        return [1.0 if regex.fullmatch(completion_text(c).strip()) else 0.0 for c in completions]

    reward.__name__ = name
    return reward


REWARDS: dict[str, RewardFn] = {"em": em_reward, "f1": f1_reward, "contains": contains_reward,
                                "format": format_reward_for()}


ALLOW_CODE_ENV = "RAGADAPT_ALLOW_CODE"


def import_function(name: str, field: str) -> Callable:
    """`package.module:function` -> the function (for user rewards and tools named in YAML). Importing runs the
    module's code, so a config from someone else is code: it is refused unless code is allowed
    (`ragadapt train ... --allow-code`, or RAGADAPT_ALLOW_CODE=1)."""
    import os

    module, _, attr = name.partition(":")
    if os.environ.get(ALLOW_CODE_ENV) != "1":
        raise DataFormatError(f"{name!r} imports and runs code from module {module!r}; a config is code when it "
                              "names functions: check the module, then pass --allow-code", field=field)
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as e:
        raise DataFormatError(f"cannot import {name!r}: {e}", field=field) from e


def resolve_reward(name: str) -> RewardFn:
    """A reward by short name, or `package.module:function` for your own."""
    if name in REWARDS:
        return REWARDS[name]
    if ":" in name:
        return import_function(name, "rewards")
    raise DataFormatError(f"unknown reward {name!r}; built-in: {sorted(REWARDS)}, or module:function",
                          field="rewards")
