"""Generation backends behind one protocol: transformers (default) and vLLM (optional extra)."""

from ragadapt.generation.base import Generator, Messages, Prompt
from ragadapt.generation.hf import TransformersGenerator


def load_generator(name: str = "smollm2-135m-instruct", backend: str = "transformers", **kwargs) -> Generator:
    """Load a generator by name with the chosen backend ("transformers" or "vllm"), under the abstention rule
    stored with a saved directory (ragadapt.generation.abstain), whichever backend serves it."""
    from ragadapt.generation.abstain import with_rule

    if backend == "vllm":
        from ragadapt.generation.vllm_backend import VLLMGenerator

        return with_rule(VLLMGenerator(name, **kwargs), name)
    if backend != "transformers":
        raise ValueError(f"unknown generation backend {backend!r}; choose 'transformers' or 'vllm'")
    return with_rule(TransformersGenerator.from_pretrained(name, **kwargs), name)


__all__ = ["Generator", "Messages", "Prompt", "TransformersGenerator", "load_generator"]
