"""Retrievers: dense (sentence-transformers + FAISS/torch), BM25, hybrid RRF, cross-encoder reranking."""

from ragadapt.retrievers.base import Reranker, Retriever
from ragadapt.retrievers.bm25 import BM25Retriever
from ragadapt.retrievers.dense import DenseRetriever
from ragadapt.retrievers.embedder import Embedder
from ragadapt.retrievers.hybrid import HybridRetriever, rrf_fuse
from ragadapt.retrievers.io import load_retriever
from ragadapt.retrievers.reranker import CrossEncoderReranker
from ragadapt.retrievers.store import PassageStore
from ragadapt.retrievers.vector_index import IndexSpec, VectorIndex

__all__ = [
    "BM25Retriever", "CrossEncoderReranker", "DenseRetriever", "Embedder", "HybridRetriever", "IndexSpec",
    "PassageStore", "Reranker", "Retriever", "VectorIndex", "load_retriever", "rrf_fuse",
]
