"""Pieces every workflow uses: answering from passages in one batched call, token counting, and the
mapping from hits to step records."""

from __future__ import annotations

from collections.abc import Sequence

from ragadapt.prompts import RAGPrompt
from ragadapt.types import Hit


def answer_with_passages(generator, questions: Sequence[str], hits: Sequence[Sequence[Hit]],
                         prompt: RAGPrompt | None = None, max_new_tokens: int = 32, batch_size: int = 8) -> list[str]:
    """One generated answer per question from its passages (the single-shot RAG prompt)."""
    prompt = prompt or RAGPrompt()
    messages = [prompt.messages(q, list(h), generator.count_tokens) for q, h in zip(questions, hits)]
    return generator.generate(messages, max_new_tokens=max_new_tokens, batch_size=batch_size)


def prompt_tokens(generator, messages) -> int:
    """Tokens of a prompt's contents (chat-template markup not counted)."""
    if isinstance(messages, str):
        return generator.count_tokens(messages)
    return sum(generator.count_tokens(m["content"]) for m in messages)


def ids(hits: Sequence[Hit]) -> list[str]:
    return [h.passage.id for h in hits]


def merge_hits(*lists: Sequence[Hit], limit: int | None = None) -> list[Hit]:
    """Passages in first-seen order without repeats, re-ranked 0..n-1."""
    seen: dict[str, Hit] = {}
    for hits in lists:
        for h in hits:
            seen.setdefault(h.passage.id, h)
    merged = list(seen.values())[:limit]
    return [Hit(h.passage, h.score, r) for r, h in enumerate(merged)]


def is_empty(retriever) -> bool:
    """True for an index known to hold nothing (retrievers that cannot tell, e.g. LangChain's, are not)."""
    try:
        return len(retriever) == 0
    except TypeError:
        return False
