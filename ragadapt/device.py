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


def scoring_dtype(device: str):
    """dtype for frozen models that only score (LM teachers): bf16 on GPUs with bf16 and on CPUs with
    native bf16 matmuls (AMX / AVX512-BF16, ~2.5x faster than fp32 there), else fp32."""
    import torch

    if str(device).startswith("cuda"):
        return default_dtype(device)
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return torch.bfloat16 if native else torch.float32
