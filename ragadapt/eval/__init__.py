"""Evaluation: metrics, QA data loading, and the evaluation runner."""

from ragadapt.eval.data import load_qa_jsonl
from ragadapt.eval.metrics import (
    answer_contains, exact_match, f1_score, mrr, ndcg_at_k, normalize_answer, recall_at_k,
)
from ragadapt.eval.runner import evaluate, relevance

__all__ = [
    "answer_contains", "evaluate", "exact_match", "f1_score", "load_qa_jsonl", "mrr", "ndcg_at_k",
    "normalize_answer", "recall_at_k", "relevance",
]
