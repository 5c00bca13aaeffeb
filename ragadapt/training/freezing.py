"""Freezing by parameter-name patterns, and LoRA adapters (PEFT)."""

from __future__ import annotations

import fnmatch
import logging

from ragadapt.errors import DataFormatError
from ragadapt.training.config import LoraSettings

log = logging.getLogger(__name__)


def freeze_parameters(model, patterns: list[str]) -> int:
    """Set requires_grad=False on parameters whose name matches any fnmatch pattern; returns how many.

    A pattern that matches nothing is an error (a typo would otherwise silently train everything)."""
    if not patterns:
        return 0
    names = [n for n, _ in model.named_parameters()]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in names)]
    if unmatched:
        raise DataFormatError(f"freeze pattern(s) {unmatched} match no parameter; names look like "
                              f"{names[:3]} ... {names[-1:]}", field="freeze")
    count = 0
    for name, param in model.named_parameters():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            param.requires_grad_(False)
            count += 1
    log.info("froze %d of %d parameter tensors (%s)", count, len(names), ", ".join(patterns))
    return count


def peft_config(lora: LoraSettings | None):
    """A peft LoraConfig for TRL's `peft_config=`, or None."""
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")


def trainable_summary(model) -> str:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return f"{trainable:,} of {total:,} parameters trainable ({trainable / max(total, 1):.2%})"


def merged_for_saving(model, lora: LoraSettings | None):
    """The model to save: LoRA adapters merged into the weights when asked, else unchanged."""
    if lora is not None and lora.merge and hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model
