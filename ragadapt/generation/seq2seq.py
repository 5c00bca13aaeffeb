"""Encoder-decoder backend (any HF seq2seq model, e.g. an EncoderDecoderModel built from MiniLM): the
`generate` part of the Generator protocol, for components that only need to write short outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ragadapt.generation.base import Prompt, cut_at_stop, save_model_dir


def flatten(prompt: Prompt) -> str:
    """Seq2seq models have no chat template: messages become 'role: content' lines."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(f"{m['role']}: {m['content']}" for m in prompt)


class Seq2SeqGenerator:
    kind = "seq2seq-lm"

    def __init__(self, model, tokenizer, name: str = "", device: str | None = None, max_source_tokens: int = 512):
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.device = str(device or next(model.parameters()).device)
        self.max_source_tokens = max_source_tokens

    @classmethod
    def from_pretrained(cls, name: str, device: str | None = None, trust_remote_code: bool = False) -> Seq2SeqGenerator:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, EncoderDecoderModel

        from ragadapt.device import default_device
        from ragadapt.models import resolve_model

        device = device or default_device()
        path = resolve_model(name) if not Path(name).is_dir() else name
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        try:
            model = AutoModelForSeq2SeqLM.from_pretrained(path, trust_remote_code=trust_remote_code)
        except ValueError:  # an EncoderDecoderModel directory is not in the auto mapping
            model = EncoderDecoderModel.from_pretrained(path)
        return cls(model.to(device).eval(), tokenizer, name=name, device=device)

    @property
    def module(self):
        return self.model

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, batch_size: int = 8, stop: Sequence[str] | None = None) -> list[str]:
        import torch

        out: list[str] = []
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {
            "do_sample": False}
        for start in range(0, len(prompts), batch_size):
            texts = [flatten(p) for p in prompts[start:start + batch_size]]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                                 max_length=self.max_source_tokens).to(self.device)
            with torch.no_grad():
                gen = self.model.generate(**enc, max_new_tokens=max_new_tokens, **sampling)
            out += [cut_at_stop(t, stop).strip() for t in self.tokenizer.batch_decode(gen, skip_special_tokens=True)]
        return out

    def save(self, directory: str | Path) -> Path:
        return save_model_dir(self.model, self.tokenizer, directory, self.kind, name=self.name)

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None, **_) -> Seq2SeqGenerator:
        """A seq2seq generator saved by `save` (checked against its manifest)."""
        from ragadapt.manifest import read_manifest

        read_manifest(directory, cls.kind)
        return cls.from_pretrained(str(directory), device=device)
