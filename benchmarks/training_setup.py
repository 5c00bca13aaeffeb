"""Shared set-up of the training benchmarks: a mid-size Llama built from a config (SmolLM2's tokenizer),
and RAG-style SFT examples of varied length from the bundled corpus."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def small_tokenizer(vocab_size: int = 2000):
    """A byte-level BPE trained on 500 bundled articles, ChatML template: keeps the LM head small, so
    step times measure the training machinery rather than a 49k-way softmax."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from ragadapt.corpora.wiki import load_wiki

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator((d.text for d in load_wiki(limit=500)), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=2048)
    fast.chat_template = CHATML
    return fast


def bench_model_dir(hidden: int = 256, layers: int = 4, tokenizer: str = "smollm2") -> str:
    """Save a randomly initialised Llama to a temp dir, with SmolLM2's tokenizer or a small one."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ragadapt.models import resolve_model

    torch.manual_seed(0)
    if tokenizer == "smollm2":
        tok = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))
    else:
        tok = small_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 3,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                      max_position_embeddings=2048, tie_word_embeddings=True,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    out = Path(tempfile.mkdtemp(prefix="ragadapt-bench-"))
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def rag_sft_examples(n: int, seed: int = 0) -> list[dict]:
    """A contextual-SFT style mixture (what the generator routines train on): half short instructions
    without passages (general-data replay), half RAG prompts with 1-6 retrieved passages.
    Lengths range from ~40 to ~1000 tokens."""
    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.prompts import RAGPrompt
    from ragadapt.types import Hit, Passage

    rng = random.Random(seed)
    docs = [d for d in load_wiki(limit=3000) if d.meta.get("description")]
    prompt = RAGPrompt()
    rows = []
    for i in range(n):
        gold = rng.choice(docs)
        answer = {"role": "assistant", "content": f"{gold.title} is a {gold.meta['description'].lower()}."}
        if i % 2 == 0:
            rows.append({"messages": [{"role": "user", "content": f"In one line: what is {gold.title}?"}, answer]})
            continue
        picked = [gold] + rng.sample(docs, rng.randint(0, 5))
        hits = [Hit(Passage(id=d.id, text=d.text, title=d.title), 0.0, r) for r, d in enumerate(picked)]
        rows.append({"messages": prompt.messages(f"What is {gold.title}?", hits) + [answer]})
    return rows


class CountingCollator:
    """Wraps a data collator and counts the tokens it hands the model: all, and the non-padding ones."""

    def __init__(self, inner):
        self.inner, self.total, self.real = inner, 0, 0

    def __call__(self, features):
        batch = self.inner(features)
        ids = batch["input_ids"]
        self.total += ids.numel()
        self.real += int(batch["attention_mask"].sum()) if "attention_mask" in batch else ids.numel()
        return batch
