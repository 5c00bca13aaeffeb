"""RAG prompts: numbered passages in a chat message, fitted to a token budget.

Truncation rule (a question never crashes the system, however long): passages are kept in rank
order; when the prompt exceeds `max_prompt_tokens`, the lowest-ranked passage is shortened first
(cut at the end), then dropped, and so on upward; the top passage is only shortened, never dropped.
A question that alone exceeds half the budget is cut to half the budget (its start is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ragadapt.types import Hit

DEFAULT_SYSTEM = (
    "You answer questions using the numbered passages. Reply with a short answer taken from the "
    "passages. If the passages do not contain the answer, say \"I don't know\"."
)
MIN_PASSAGE_TOKENS = 16


def format_passage(number: int, title: str, text: str) -> str:
    return f"[{number}] {title}\n{text}" if title else f"[{number}] {text}"


def _cut_to_tokens(text: str, n_tokens: int, count_tokens: Callable[[str], int]) -> str:
    """Longest word-prefix of `text` with at most `n_tokens` tokens (binary search over words)."""
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(" ".join(words[:mid])) <= n_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


@dataclass
class RAGPrompt:
    system: str = DEFAULT_SYSTEM
    max_prompt_tokens: int = 1024

    def user_message(self, question: str, passages: Sequence[tuple[str, str]]) -> str:
        if not passages:
            return f"Question: {question}"
        blocks = "\n\n".join(format_passage(i + 1, title, text) for i, (title, text) in enumerate(passages))
        return f"Passages:\n{blocks}\n\nQuestion: {question}"

    def messages(self, question: str, hits: Sequence[Hit],
                 count_tokens: Callable[[str], int] | None = None) -> list[dict[str, str]]:
        """Chat messages for one question; fitted to the budget when `count_tokens` is given."""
        passages = [(h.passage.title, h.passage.text) for h in hits]
        if count_tokens is not None:
            question, passages = self.fit(question, passages, count_tokens)
        return [{"role": "system", "content": self.system},
                {"role": "user", "content": self.user_message(question, passages)}]

    def fit(self, question: str, passages: list[tuple[str, str]],
            count_tokens: Callable[[str], int]) -> tuple[str, list[tuple[str, str]]]:
        budget = self.max_prompt_tokens - count_tokens(self.system) - 16  # 16: chat-template markup
        if count_tokens(question) > budget // 2:
            question = _cut_to_tokens(question, budget // 2, count_tokens)
        passages = list(passages)
        while passages:
            over = count_tokens(self.user_message(question, passages)) - budget
            if over <= 0:
                break
            title, text = passages[-1]
            keep = count_tokens(text) - over
            if keep >= MIN_PASSAGE_TOKENS or len(passages) == 1:
                passages[-1] = (title, _cut_to_tokens(text, max(keep, 0), count_tokens))
                if keep <= 0:  # even an empty top passage does not fit
                    passages.pop()
            else:
                passages.pop()
        return question, passages
