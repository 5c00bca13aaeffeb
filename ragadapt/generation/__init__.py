"""Generation backends behind one protocol: transformers (default) and vLLM (optional extra)."""

from ragadapt.generation.base import Generator, Messages, Prompt
from ragadapt.generation.hf import TransformersGenerator


def load_generator(name: str = "smollm2-135m-instruct", backend: str = "transformers", **kwargs) -> Generator:
    """Load a generator by name with the chosen backend ("transformers" or "vllm")."""
    if backend == "vllm":
        from ragadapt.generation.vllm_backend import VLLMGenerator

        return VLLMGenerator(name, **kwargs)
    if backend != "transformers":
        raise ValueError(f"unknown generation backend {backend!r}; choose 'transformers' or 'vllm'")
    from ragadapt.generation.abstain import with_rule

    return with_rule(TransformersGenerator.from_pretrained(name, **kwargs), name)  # a saved directory's own rule


__all__ = ["Generator", "Messages", "Prompt", "TransformersGenerator", "load_generator"]
