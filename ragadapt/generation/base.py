"""The Generator protocol: batched generation and batched target log-likelihoods.

A prompt is either a raw string (used as is) or a list of chat messages
(`[{"role": "system"|"user"|"assistant", "content": ...}]`, rendered with the model's chat template).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Union, runtime_checkable

Messages = list[dict[str, str]]
Prompt = Union[str, Messages]


@runtime_checkable
class Generator(Protocol):
    name: str

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, batch_size: int = 8, stop: Sequence[str] | None = None) -> list[str]:
        """One completion per prompt; greedy when temperature == 0; each ends after the first `stop` string
        it produces (the stop string is kept: agents read the closing tag of an action)."""
        ...

    def loglikelihood(self, prompts: Sequence[Prompt], targets: Sequence[str], reduction: str = "sum",
                      batch_size: int = 8):
        """Tensor (n,) of log P(target | prompt), summed (or averaged) over the target's tokens."""
        ...

    def count_tokens(self, text: str) -> int: ...

    @property
    def context_length(self) -> int: ...


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` up to and including the earliest stop string in it."""
    ends = [text.find(s) + len(s) for s in stop or () if s and s in text]
    return text[: min(ends)] if ends else text


def save_model_dir(model, tokenizer, directory, kind: str, model_card: str | None = None, **fields):
    """The one writer of a generator directory: weights and tokenizer (transformers' safetensors format), an
    optional model card (README.md) and a manifest of `kind`, atomically. Returns the directory."""
    from pathlib import Path

    from ragadapt.atomic import atomic_dir
    from ragadapt.manifest import write_manifest

    with atomic_dir(directory) as tmp:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        if model_card:
            (tmp / "README.md").write_text(model_card, encoding="utf-8")
        write_manifest(tmp, kind, **fields)
    return Path(directory)


def as_served(generator):
    """`generator` as a system serves it: a generator that scores in another dtype than it serves in (see
    `TransformersGenerator.served`) gives its served copy; any other generator is itself."""
    served = getattr(generator, "served", None)
    return served() if callable(served) else generator
