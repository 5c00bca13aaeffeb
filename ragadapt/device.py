"""Device and dtype choice: a GPU when present; bf16 weights where the GPU supports it (fp32 on CPU); bf16 compute
(scoring, mixed-precision training) wherever the hardware has it natively."""

from __future__ import annotations


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device: str):
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def native_bf16(device: str) -> bool:
    """Whether `device` computes bf16 natively: a GPU that supports it, a CPU with AMX / AVX512-BF16 (oneDNN's
    check). Emulated bf16 is slower than fp32, so bf16 is used only here."""
    import torch

    if str(device).startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def scoring_dtype(device: str):
    """dtype for frozen models that only score (LM teachers): bf16 on GPUs with bf16 and on CPUs with
    native bf16 matmuls (AMX / AVX512-BF16, ~2.5x faster than fp32 there), else fp32."""
    import torch

    if str(device).startswith("cuda"):
        return default_dtype(device)
    return torch.bfloat16 if native_bf16(device) else torch.float32
