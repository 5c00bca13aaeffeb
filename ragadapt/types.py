"""Plain data types shared by every component. JSON-serialisable through to_dict/from_dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """A source document before chunking."""

    id: str
    text: str
    title: str = ""
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Passage:
    """A retrievable chunk. `start`/`end` are character offsets into the source document's text."""

    id: str
    text: str
    title: str = ""
    doc_id: str = ""
    start: int = 0
    end: int = 0
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Passage:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    @property
    def contents(self) -> str:
        """What embedders and BM25 see: the title (if any) then the text."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(slots=True)
class Hit:
    """A passage returned by a search, with its score and 0-based rank."""

    passage: Passage
    score: float
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.passage.id, "title": self.passage.title, "score": float(self.score), "rank": self.rank}


@dataclass
class QAExample:
    """A question with its reference answers and (optionally) the gold passages/documents."""

    question: str
    answers: list[str]
    id: str = ""
    gold_ids: list[str] = field(default_factory=list)
    gold_doc_ids: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """What a RAG system returns for one question: the text and the passages it was given."""

    question: str
    text: str
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.text, "passages": [h.to_dict() for h in self.hits]}
