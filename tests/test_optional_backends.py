"""Optional extras: a clear message when missing; the real thing where installed (vLLM, GPU)."""

import builtins

import numpy as np
import pytest

from ragadapt.errors import MissingExtraError


def test_missing_faiss_names_the_extra(monkeypatch):
    from ragadapt.retrievers import faiss_support, vector_index

    real_import = builtins.__import__

    def no_faiss(name, *args, **kwargs):
        if name == "faiss":
            raise ImportError("No module named 'faiss'")
        return real_import(name, *args, **kwargs)

    faiss_support.import_faiss.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_faiss)
    try:
        with pytest.raises(MissingExtraError, match=r"pip install 'ragadapt\[cpu\]'"):
            vector_index.VectorIndex(8, "hnsw")
        flat = vector_index.VectorIndex(8, "flat")  # exact search still works, with torch
        assert flat.backend == "torch-cpu"
        flat.add(np.eye(8, dtype=np.float32))
        assert flat.search(np.eye(8, dtype=np.float32)[:1], 1)[1].tolist() == [[0]]
    finally:
        monkeypatch.undo()
        faiss_support.import_faiss.cache_clear()


def test_missing_vllm_names_the_extra(monkeypatch):
    import sys

    from ragadapt.generation import load_generator

    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    with pytest.raises(MissingExtraError, match=r"ragadapt\[vllm\]"):
        load_generator("smollm2-135m-instruct", backend="vllm")


def test_unknown_backend():
    from ragadapt.generation import load_generator

    with pytest.raises(ValueError, match="unknown generation backend"):
        load_generator("x", backend="onnx")


@pytest.mark.gpu
def test_vllm_backend_matches_transformers_greedy():
    pytest.importorskip("vllm")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vLLM needs a GPU")
    from ragadapt.generation import load_generator

    v = load_generator("smollm2-135m-instruct", backend="vllm", gpu_memory_utilization=0.3)
    t = load_generator("smollm2-135m-instruct", device="cuda")
    prompt = [{"role": "user", "content": "What is the capital of France?"}]
    assert v.generate([prompt], max_new_tokens=8)[0].split()[:3] == t.generate([prompt], max_new_tokens=8)[0].split()[:3]
    lv, lt = v.loglikelihood([prompt], ["Paris"]), t.loglikelihood([prompt], ["Paris"])
    assert abs(lv.item() - lt.item()) < 0.5


@pytest.mark.gpu
def test_gpu_flat_search_matches_cpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from ragadapt.retrievers import VectorIndex

    x = np.random.default_rng(0).standard_normal((1000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cpu, gpu = VectorIndex(16, "flat", device="cpu"), VectorIndex(16, "flat", device="cuda")
    assert gpu.backend in ("faiss-gpu", "torch-cuda")
    cpu.add(x)
    gpu.add(x)
    assert (cpu.search(x[:20], 5)[1] == gpu.search(x[:20], 5)[1]).all()
