"""vLLM backend (optional extra `ragadapt[vllm]`, GPU). Imported only when asked for."""

from __future__ import annotations

from collections.abc import Sequence

from ragadapt.errors import MissingExtraError
from ragadapt.generation.base import Prompt
from ragadapt.models import resolve_model


class VLLMGenerator:
    """Fast batched generation through vLLM; log-likelihoods via prompt_logprobs."""

    def __init__(self, name: str = "smollm2-135m-instruct", gpu_memory_utilization: float = 0.5,
                 trust_remote_code: bool = False, **engine_kwargs):
        try:
            from vllm import LLM
        except ImportError as e:
            raise MissingExtraError("vllm", "vllm", "The vLLM generation backend") from e
        self.name = name
        self.llm = LLM(model=resolve_model(name, kind="generator"), gpu_memory_utilization=gpu_memory_utilization,
                       trust_remote_code=trust_remote_code, **engine_kwargs)
        self.tokenizer = self.llm.get_tokenizer()

    @property
    def context_length(self) -> int:
        return int(self.llm.llm_engine.model_config.max_model_len)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str):
            return prompt
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, batch_size: int = 8, stop: Sequence[str] | None = None) -> list[str]:
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                                stop=list(stop) if stop else None, include_stop_str_in_output=True)
        outputs = self.llm.generate([self.render(p) for p in prompts], params, use_tqdm=False)
        return [o.outputs[0].text.strip() for o in outputs]

    def loglikelihood(self, prompts: Sequence[Prompt], targets: Sequence[str], reduction: str = "sum",
                      batch_size: int = 8):
        import torch
        from vllm import SamplingParams

        params = SamplingParams(max_tokens=1, prompt_logprobs=0)
        texts, n_target = [], []
        for p, t in zip(prompts, targets):
            texts.append(self.render(p) + t)
            n_target.append(max(1, self.count_tokens(t)))
        outputs = self.llm.generate(texts, params, use_tqdm=False)
        result = []
        for o, n in zip(outputs, n_target):
            ids = o.prompt_token_ids[-n:]
            lps = [o.prompt_logprobs[len(o.prompt_token_ids) - n + j][tok].logprob for j, tok in enumerate(ids)]
            result.append(sum(lps) if reduction == "sum" else sum(lps) / len(lps))
        return torch.tensor(result, dtype=torch.float32)
