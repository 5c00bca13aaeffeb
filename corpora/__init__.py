"""Corpora: loaders, chunking, the bundled Wikipedia corpus."""

from ragadapt.corpora.chunking import Chunker, tokenizer_spans, word_spans
from ragadapt.corpora.loaders import LoadReport, load_corpus, load_folder, load_hf_dataset, load_jsonl

__all__ = [
    "Chunker", "LoadReport", "load_corpus", "load_folder", "load_hf_dataset", "load_jsonl",
    "tokenizer_spans", "word_spans",
]
