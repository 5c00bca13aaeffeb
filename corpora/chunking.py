"""Token-aware chunking with overlap. Passages keep the document title and character offsets.

Tokens come from any callable returning `(start, end)` character spans: a fast tokenizer's offset
mapping (so chunks fit the embedder's window exactly) or a regex word splitter when none is given.
Passage ids are `<doc id>#<chunk index>`: stable for the same document and the same settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ragadapt.types import Document, Passage

Spans = Callable[[str], list[tuple[int, int]]]
_WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text)]


def tokenizer_spans(tokenizer) -> Spans:
    """Offsets from a Hugging Face fast tokenizer (no special tokens)."""

    def spans(text: str) -> list[tuple[int, int]]:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
        return [(s, e) for s, e in enc["offset_mapping"] if e > s]

    return spans


@dataclass
class Chunker:
    """Splits documents into windows of `chunk_tokens` tokens, consecutive windows sharing `overlap`.

    `title_tokens` is reserved from each window so that "title + text" still fits the embedder.
    """

    chunk_tokens: int = 200
    overlap: int = 32
    spans: Spans = word_spans
    title_tokens: int = 0

    def __post_init__(self) -> None:
        if self.chunk_tokens <= 0:
            raise ValueError(f"chunk_tokens must be positive, got {self.chunk_tokens}")
        if not 0 <= self.overlap < self.chunk_tokens:
            raise ValueError(f"overlap must be in [0, chunk_tokens={self.chunk_tokens}), got {self.overlap}")

    def chunk(self, doc: Document) -> list[Passage]:
        tokens = self.spans(doc.text)
        if not tokens:
            return []
        n = len(tokens)
        size = max(1, self.chunk_tokens - self.title_tokens)
        overlap = min(self.overlap, size - 1)
        # Windows start and end on word boundaries (a token glued to the previous one continues a word),
        # so re-tokenising a passage gives the same tokens and never more than the window.
        word_start = [i == 0 or tokens[i][0] > tokens[i - 1][1] for i in range(n)] + [True]
        out: list[Passage] = []
        first = 0
        while first < n:
            stop = min(first + size, n)
            while stop < n and stop > first + 1 and not word_start[stop]:
                stop -= 1
            start, end = tokens[first][0], tokens[stop - 1][1]
            out.append(Passage(id=f"{doc.id}#{len(out)}", text=doc.text[start:end], title=doc.title,
                               doc_id=doc.id, start=start, end=end, source=doc.source))
            if stop == n:
                break
            nxt = max(stop - overlap, first + 1)
            while nxt > first + 1 and not word_start[nxt]:
                nxt -= 1
            first = nxt
        return out

    def chunk_all(self, docs: Iterable[Document]) -> Iterator[Passage]:
        for doc in docs:
            yield from self.chunk(doc)
