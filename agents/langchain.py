"""LangChain interop, both ways.

- `RagadaptRetriever`: a ragadapt retriever (or a whole RAGSystem, reranker included) as a `langchain_core`
  `BaseRetriever` (`k` in the constructor or per call: `retriever.invoke(query, k=3)`).
- `RagadaptChatModel`: a ragadapt generator as a LangChain chat model (a Runnable: `invoke`, `batch`, `|`).
- `LangChainRetriever` / `LangChainGenerator`: any LangChain retriever or chat model as a ragadapt component,
  usable in a RAGSystem or an agent. A chat model gives no target log-likelihoods, so the routines that
  score with the LM (REPLUG, BGM silver sequences, RA-DIT) need a transformers or vLLM generator.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ragadapt.types import Hit, Passage

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "user", "chat": "user"}


# ---- ragadapt -> LangChain -----------------------------------------------------------------------
def hit_to_document(hit: Hit) -> LCDocument:
    p = hit.passage
    return LCDocument(page_content=p.text, id=p.id, metadata={"id": p.id, "title": p.title, "doc_id": p.doc_id,
                                                              "score": float(hit.score), "rank": hit.rank})


class RagadaptRetriever(BaseRetriever):
    """A ragadapt retriever, or a RAGSystem (then its reranker, if any, reorders the candidates)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Any
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, **_: Any) -> list[LCDocument]:
        k = k or self.k
        search = getattr(self.retriever, "retrieve", None) or self.retriever.search  # RAGSystem.retrieve
        return [hit_to_document(h) for h in search([query], k)[0][:k]]


def to_chat(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


def cut_before_stop(text: str, stop: Sequence[str] | None) -> str:
    """LangChain's stop semantics: the text before the first stop string."""
    cuts = [text.find(s) for s in stop or () if s and s in text]
    return text[: min(cuts)] if cuts else text


class RagadaptChatModel(BaseChatModel):
    """A ragadapt Generator (transformers, vLLM, seq2seq) as a LangChain chat model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    generator: Any
    max_new_tokens: int = 128
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "ragadapt"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": getattr(self.generator, "name", ""), "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = self.generator.generate([to_chat(messages)], max_new_tokens=kwargs.get("max_new_tokens",
                                                                                      self.max_new_tokens),
                                       temperature=kwargs.get("temperature", self.temperature), stop=stop)[0]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=cut_before_stop(text, stop)))])


# ---- LangChain -> ragadapt -----------------------------------------------------------------------
def document_to_passage(doc: LCDocument) -> Passage:
    meta = doc.metadata or {}
    pid = doc.id or meta.get("id") or hashlib.sha1(doc.page_content.encode()).hexdigest()[:16]
    return Passage(id=str(pid), text=doc.page_content, title=str(meta.get("title", "")),
                   doc_id=str(meta.get("doc_id", meta.get("source", ""))))


class LangChainRetriever:
    """Any LangChain retriever behind ragadapt's Retriever protocol (search/get). `k` is passed to the
    retriever per call (LangChain drops it for retrievers that take no extra arguments) and the results are
    cut to `k`. Passages seen in results can be read back by id (`get`), which the agents' `read` tool uses."""

    def __init__(self, retriever, pass_k: bool = True):
        self.retriever, self.pass_k = retriever, pass_k
        self.seen: dict[str, Passage] = {}
        self.name = type(retriever).__name__

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        kwargs = {"k": k} if self.pass_k else {}
        out = []
        for docs in self.retriever.batch(list(queries), **kwargs):
            hits = []
            for rank, doc in enumerate(docs[:k]):
                passage = document_to_passage(doc)
                self.seen[passage.id] = passage
                hits.append(Hit(passage, float((doc.metadata or {}).get("score", 1.0 / (rank + 1))), rank))
            out.append(hits)
        return out

    def get(self, passage_id: str) -> Passage:
        if passage_id not in self.seen:
            raise KeyError(f"no passage with id {passage_id!r} among the results seen so far")
        return self.seen[passage_id]

    def save(self, directory) -> None:
        raise NotImplementedError("a LangChain retriever is not saved inside a ragadapt system; keep its own "
                                  "persistence and wrap it again after loading")


class LangChainGenerator:
    """Any LangChain chat model behind ragadapt's Generator protocol (generation only)."""

    def __init__(self, chat_model, count_tokens: Callable[[str], int] | None = None, context_length: int = 8192,
                 name: str | None = None):
        self.model = chat_model
        self._count = count_tokens or (lambda text: math.ceil(len(text.split()) * 4 / 3))  # no hub tokenizer
        self._context_length = context_length
        self.name = name or getattr(chat_model, "model_name", None) or type(chat_model).__name__

    def generate(self, prompts, max_new_tokens: int = 64, temperature: float = 0.0, top_p: float = 1.0,
                 batch_size: int = 8, stop: Sequence[str] | None = None) -> list[str]:
        inputs = [p if isinstance(p, str) else [_message(m) for m in p] for p in prompts]
        replies = self.model.batch(inputs, config={"max_concurrency": batch_size}, stop=list(stop) if stop else None)
        return [r.text.strip() for r in replies]

    def loglikelihood(self, prompts, targets, reduction: str = "sum", batch_size: int = 8):
        raise NotImplementedError(f"{self.name}: a LangChain chat model gives no target log-likelihoods; REPLUG, "
                                  "BGM silver sequences and RA-DIT need a transformers or vLLM generator")

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    @property
    def context_length(self) -> int:
        return self._context_length


def _message(m: dict[str, str]) -> BaseMessage:
    role, content = m["role"], m["content"]
    return {"system": SystemMessage, "assistant": AIMessage}.get(role, HumanMessage)(content=content)
