"""Device and dtype choice: a GPU when present, bf16 where the GPU supports it, fp32 on CPU."""

from __future__ import annotations


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device: str):
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
