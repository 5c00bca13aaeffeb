"""Shared fixtures: tiny models built from configs (no download), small corpora from the stdlib."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from ragadapt.types import Document  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def pydoc_texts() -> list[tuple[str, str]]:
    """(topic, text) pairs from the standard library's pydoc topics: ~65k words, zero install."""
    from pydoc_data.topics import topics

    return sorted(topics.items())


@pytest.fixture(scope="session")
def corpus_docs() -> list[Document]:
    return [Document(id=name, title=name.replace("-", " "), text=text, source="pydoc")
            for name, text in pydoc_texts()[:40]]


def _train_tokenizer(kind: str):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    text = (t for _, t in pydoc_texts())
    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok.train_from_iterator(text, trainers.WordPieceTrainer(vocab_size=800, special_tokens=specials))
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]
        tok.train_from_iterator(text, trainers.BpeTrainer(
            vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


@pytest.fixture(scope="session")
def tiny_embedder_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with mean pooling, saved as a sentence-transformers directory."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    raw = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = BertTokenizerFast(tokenizer_object=_train_tokenizer("wordpiece"), unk_token="[UNK]",
                                  pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                  model_max_length=128)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    out = tmp_path_factory.mktemp("tiny_st")
    SentenceTransformer(str(raw), device="cpu").save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_generator_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide Llama with a byte-level BPE tokenizer and a ChatML template."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_llama")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_train_tokenizer("bpe"), eos_token="<|im_end|>",
                                        pad_token="<pad>", bos_token="<|endoftext|>", model_max_length=512)
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_embedder(tiny_embedder_dir):
    from ragadapt.retrievers import Embedder

    return Embedder.load(str(tiny_embedder_dir), device="cpu")


@pytest.fixture(scope="session")
def tiny_generator(tiny_generator_dir):
    from ragadapt.generation import TransformersGenerator

    return TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu")


@pytest.fixture
def jsonl_corpus(tmp_path, corpus_docs) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"id": d.id, "title": d.title, "text": d.text}) + "\n" for d in corpus_docs))
    return path


@pytest.fixture
def tiny_system(tmp_path, tiny_embedder_dir, tiny_generator_dir):
    """A saved system over 40 bundled Wikipedia articles: tiny embedder, the tiny generator stored inside."""
    from ragadapt.system import RAGSystem

    path = tmp_path / "base"
    system = RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=40, device="cpu",
                             bm25=False, show_progress=False)
    system.generator_ref = str(tiny_generator_dir)  # stored inside the system
    system.save(path)
    return path
