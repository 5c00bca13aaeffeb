"""Transformers backend for the Generator protocol."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from pathlib import Path

from ragadapt.errors import UnknownModelError
from ragadapt.generation.base import Prompt, cut_at_stop, save_model_dir
from ragadapt.models import hub_load_hint, resolve_model

log = logging.getLogger(__name__)

_PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}


def plain_chat(messages: list[dict[str, str]]) -> str:
    """Fallback rendering for tokenizers without a chat template."""
    lines = [f"{_PLAIN_ROLES.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    return "\n\n".join(lines) + "\n\nAssistant:"


class TransformersGenerator:
    """A causal LM from transformers. Batches are sorted by length to waste little compute on padding."""

    kind = "causal-lm"

    def __init__(self, model, tokenizer, name: str = "", device: str | None = None):
        self.model, self.tokenizer, self.name = model, tokenizer, name or getattr(model, "name_or_path", "")
        self.device = str(device or next(model.parameters()).device)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._warned_template = False

    @classmethod
    def from_pretrained(cls, name: str = "smollm2-135m-instruct", device: str | None = None, dtype=None,
             trust_remote_code: bool = False) -> TransformersGenerator:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ragadapt.device import default_device, default_dtype

        device = device or default_device()
        path = resolve_model(name, kind="generator")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype or default_dtype(device), trust_remote_code=trust_remote_code
            )
        except OSError as e:
            raise UnknownModelError(hub_load_hint(name, "generator")) from e
        model.to(device).eval()
        return cls(model, tokenizer, name=name, device=device)

    @property
    def module(self):
        return self.model

    def served(self) -> TransformersGenerator:
        """This generator in the dtype a system serves it in (`default_dtype` of its device; loaded once).
        Routines score with a bf16 copy where the hardware has native bf16 (`scoring_dtype`), but answers
        judged in another dtype than the system's are not the system's answers: on this project's dev-test 16 of
        60 greedy replies differ between bf16 and fp32 SmolLM2 (51.7 vs 53.3 contains), more than a 1-point gate."""
        from ragadapt.device import default_dtype

        if next(self.model.parameters()).dtype == default_dtype(self.device):
            return self
        if getattr(self, "_served", None) is None:
            log.info("answers are judged with %s in %s, as served (it scores in %s)", self.name,
                     default_dtype(self.device), next(self.model.parameters()).dtype)
            self._served = TransformersGenerator.from_pretrained(self.name, device=self.device)
            self._served.model.requires_grad_(False)
        return self._served

    @property
    def context_length(self) -> int:
        n = getattr(self.model.config, "max_position_embeddings", None) or self.tokenizer.model_max_length
        return int(min(n, 1 << 20))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for a prompt (chat messages go through the template)."""
        if isinstance(prompt, str):
            return prompt
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        if not self._warned_template:
            log.warning("tokenizer of '%s' has no chat template; using a plain 'Role: text' template", self.name)
            self._warned_template = True
        return plain_chat(prompt)

    def _encode_prompt(self, prompt: Prompt) -> list[int]:
        # Rendered chat text already holds its special tokens; raw strings get the tokenizer's (e.g. BOS).
        special = isinstance(prompt, str) or not self.tokenizer.chat_template
        return self.tokenizer(self.render(prompt), add_special_tokens=special)["input_ids"]

    def _batches(self, lengths: Sequence[int], batch_size: int):
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        for start in range(0, len(order), batch_size):
            yield order[start:start + batch_size]

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, batch_size: int = 8, stop: Sequence[str] | None = None) -> list[str]:
        new = self.generate_ids([self._encode_prompt(p) for p in prompts], max_new_tokens, temperature, top_p,
                                batch_size, stop)
        return [cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), stop).strip() for ids in new]

    def generate_ids(self, contexts: Sequence[list[int]], max_new_tokens: int = 64, temperature: float = 0.0,
                     top_p: float = 1.0, batch_size: int = 8, stop: Sequence[str] | None = None) -> list[list[int]]:
        """The new token ids for each token context (left-padded batches, longest first). Token level, so a
        multi-turn rollout can append observation tokens and continue exactly where the model stopped.
        Trailing padding is removed; an end-of-sequence token the model produced is kept."""
        import torch

        limit = self.context_length - max_new_tokens
        encoded = [list(ids[-limit:]) if len(ids) > limit else list(ids) for ids in contexts]  # keep the end
        out: list[list[int]] = [[] for _ in encoded]
        pad = self.tokenizer.pad_token_id
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {
            "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if stop:  # a row stops once it has produced a stop string
            sampling.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        eos = self.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        for batch in self._batches([len(e) for e in encoded], batch_size):
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):  # left padding: every prompt ends where generation starts
                ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]):] = 1
            with torch.no_grad():
                gen = self.model.generate(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                    max_new_tokens=max_new_tokens, pad_token_id=pad, **sampling,
                )
            for row, i in enumerate(batch):
                new = gen[row, width:].tolist()
                for j, tok in enumerate(new):  # cut after the first end token; the rest is padding
                    if tok in eos:
                        new = new[: j + 1]
                        break
                while new and new[-1] == pad and pad not in eos:
                    new.pop()
                out[i] = new
        return out

    def loglikelihood(self, prompts: Sequence[Prompt], targets: Sequence[str], reduction: str = "sum",
                      batch_size: int = 8):
        """log P(target | prompt) per pair. Prompts are cut from the left when the pair exceeds the context. A
        prompt given with several targets (the abstention rule scores its reply and the answer) runs once."""
        import torch

        if len(prompts) != len(targets):
            raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        pairs = []
        for p, t in zip(prompts, targets):
            ctx = self._encode_prompt(p)
            tgt = self.tokenizer(t, add_special_tokens=False)["input_ids"] or [self.tokenizer.eos_token_id]
            ctx = ctx[-(self.context_length - len(tgt)):] if len(ctx) + len(tgt) > self.context_length else ctx
            pairs.append((ctx, tgt))
        token_lps: list = [None] * len(pairs)
        by_context: dict[tuple, list[int]] = {}
        for i, (ctx, _) in enumerate(pairs):
            by_context.setdefault(tuple(ctx), []).append(i)
        shared = [group for group in by_context.values() if len(group) > 1]
        alone = [group[0] for group in by_context.values() if len(group) == 1]
        self._score_whole(pairs, alone, token_lps, batch_size)
        self._score_shared(pairs, shared, token_lps, batch_size)
        return torch.stack([lp.sum() if reduction == "sum" else lp.mean() for lp in token_lps]).float()

    def _padded(self, rows: Sequence[list[int]], left: bool):
        """(ids, mask) of token rows padded to one width, on the left (every row ends at the last column) or right."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, seq in enumerate(rows):
            span = slice(width - len(seq), width) if left else slice(0, len(seq))
            ids[row, span] = torch.tensor(seq, dtype=torch.long)
            mask[row, span] = 1
        return ids.to(self.device), mask.to(self.device)

    def _score_whole(self, pairs, indices: Sequence[int], out: list, batch_size: int) -> None:
        """Each pair's target token log-probs from one pass over prompt + target."""
        import torch

        for batch in self._batches([len(pairs[i][0]) + len(pairs[i][1]) for i in indices], batch_size):
            batch = [indices[b] for b in batch]
            # Left padding puts every target at the end of its row, so the LM head and the softmax run on
            # the last `keep` positions only (the full-vocabulary softmax over the prompt is most of the cost).
            ids, mask = self._padded([pairs[i][0] + pairs[i][1] for i in batch], left=True)
            keep = max(len(pairs[i][1]) for i in batch) + 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)  # positions restart at each row's first real token
            with torch.no_grad():
                logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                    logits_to_keep=keep).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)  # [B, keep, V]; row j predicts token width-keep+j+1
            for row, i in enumerate(batch):
                tgt = torch.tensor(pairs[i][1], device=logprobs.device)
                out[i] = logprobs[row, keep - 1 - len(tgt):keep - 1].gather(-1, tgt[:, None])[:, 0]

    def _score_shared(self, pairs, groups: Sequence[list[int]], out: list, batch_size: int) -> None:
        """Targets that share a prompt: the prompt runs once with its key/value cache, which is then copied to one
        row per target for a pass over the targets alone. Written by hand: transformers scores one sequence per
        row, and its prefix caching lives in generate."""
        import torch

        for batch in self._batches([len(pairs[g[0]][0]) for g in groups], batch_size):
            batch = [groups[b] for b in batch]
            ids, mask = self._padded([pairs[g[0]][0] for g in batch], left=True)
            with torch.no_grad():
                prompt = self.model(input_ids=ids, attention_mask=mask,
                                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0), use_cache=True,
                                    logits_to_keep=1)
            first = torch.log_softmax(prompt.logits[:, -1].float(), dim=-1)  # predicts each target's first token
            rows = [(row, i) for row, group in enumerate(batch) for i in group]
            for row, i in rows:
                out[i] = first[row, pairs[i][1][:1]]
            rest = [pairs[i][1][:-1] for _, i in rows]  # each target but its last token, to predict the next ones
            if max(len(r) for r in rest) == 0:
                continue
            owner = torch.tensor([row for row, _ in rows], device=ids.device)
            # transformers renamed past_key_values -> cache (5.25); 5.17 has only the old name
            cache_name = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
            cache = getattr(prompt, cache_name)
            cache.reorder_cache(owner)  # one copy of its prompt's keys and values per target
            cont, cont_mask = self._padded([r or [self.tokenizer.pad_token_id] for r in rest], left=False)
            cont_mask[[n for n, r in enumerate(rest) if not r]] = 0
            start = mask.sum(-1)[owner][:, None]
            with torch.no_grad():
                logits = self.model(input_ids=cont, attention_mask=torch.cat([mask[owner], cont_mask], dim=-1),
                                    position_ids=start + torch.arange(cont.shape[1], device=ids.device)[None],
                                    use_cache=True, **{cache_name: cache}).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            for n, (_, i) in enumerate(rows):
                tgt = torch.tensor(pairs[i][1][1:], device=logprobs.device)
                if len(tgt):
                    out[i] = torch.cat([out[i], logprobs[n, :len(tgt)].gather(-1, tgt[:, None])[:, 0]])

    def save(self, directory: str | Path) -> Path:
        return save_model_dir(self.model, self.tokenizer, directory, self.kind, name=self.name)

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None, dtype=None,
             trust_remote_code: bool = False) -> TransformersGenerator:
        """A generator saved by `save` or by a training run's final/ (checked against its manifest)."""
        from ragadapt.manifest import read_manifest

        from ragadapt.generation.abstain import with_rule

        read_manifest(directory, (cls.kind, "model"))
        generator = cls.from_pretrained(str(directory), device=device, dtype=dtype, trust_remote_code=trust_remote_code)
        return with_rule(generator, directory)  # a likelihood-ratio abstention rule stored with it (generation.abstain)
