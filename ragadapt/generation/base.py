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
                 top_p: float = 1.0, batch_size: int = 8) -> list[str]:
        """One completion per prompt; greedy when temperature == 0."""
        ...

    def loglikelihood(self, prompts: Sequence[Prompt], targets: Sequence[str], reduction: str = "sum",
                      batch_size: int = 8):
        """Tensor (n,) of log P(target | prompt), summed (or averaged) over the target's tokens."""
        ...

    def count_tokens(self, text: str) -> int: ...

    @property
    def context_length(self) -> int: ...
