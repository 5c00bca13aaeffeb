"""LangChain interop: our retriever passes langchain-tests' standard retriever suite; our generator is a
chat model (a Runnable); LangChain retrievers and chat models work inside a RAGSystem and an agent."""

from functools import cache

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from ragadapt.agents import ReActAgent, default_tools
from ragadapt.agents.langchain import LangChainGenerator, LangChainRetriever, RagadaptChatModel, RagadaptRetriever
from ragadapt.types import Passage


@cache
def bm25_over_pydoc():
    from pydoc_data.topics import topics

    from ragadapt.retrievers import BM25Retriever

    passages = [Passage(f"t{i}", text[:600], name) for i, (name, text) in enumerate(sorted(topics.items()))]
    return BM25Retriever.build(passages)


class TestRagadaptRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[RagadaptRetriever]:
        return RagadaptRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": bm25_over_pydoc(), "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return "how does the for statement loop over a sequence"


def test_retriever_documents_carry_ids_and_scores():
    docs = RagadaptRetriever(retriever=bm25_over_pydoc(), k=2).invoke("for statement")
    assert len(docs) == 2 and docs[0].metadata["rank"] == 0 and docs[0].id == docs[0].metadata["id"]
    assert docs[0].metadata["score"] >= docs[1].metadata["score"]


def test_generator_as_chat_model_runnable(tiny_generator):
    chat = RagadaptChatModel(generator=tiny_generator, max_new_tokens=5)
    reply = chat.invoke([SystemMessage("be brief"), HumanMessage("hello")])
    assert isinstance(reply.content, str)
    assert len(chat.batch(["a", "b"])) == 2
    from langchain_core.output_parsers import StrOutputParser

    assert isinstance((chat | StrOutputParser()).invoke("hi"), str)


class ScriptedCallsGenerator:
    name = "g"

    def __init__(self):
        self.calls = []

    def generate(self, prompts, max_new_tokens=64, temperature=0.0, top_p=1.0, batch_size=8, stop=None):
        self.calls.append((prompts, stop))
        return ["<answer>Paris</answer> and more"]


def test_chat_model_stop_semantics():
    chat = RagadaptChatModel(generator=ScriptedCallsGenerator())
    assert chat.invoke("q", stop=["</answer>"]).content == "<answer>Paris"
    assert chat.generator.calls[0][0] == [[{"role": "user", "content": "q"}]]


class KeywordRetriever(BaseRetriever):
    docs: list[Document]

    def _get_relevant_documents(self, query, *, run_manager):
        words = set(query.lower().split())
        return sorted(self.docs, key=lambda d: -len(words & set(d.page_content.lower().rstrip(".").split())))


DOCS = [Document("Paris is the capital of France.", id="d1", metadata={"title": "Paris"}),
        Document("Berlin is the capital of Germany.", id="d2", metadata={"title": "Berlin"})]


def test_langchain_components_inside_a_system():
    from ragadapt.system import RAGConfig, RAGSystem

    chat = FakeListChatModel(responses=["Paris"])
    system = RAGSystem(LangChainRetriever(KeywordRetriever(docs=DOCS)), LangChainGenerator(chat),
                       config=RAGConfig(k=1))
    answer = system.answer("What is the capital of France?")[0]
    assert answer.text == "Paris" and [h.passage.id for h in answer.hits] == ["d1"]
    assert answer.hits[0].passage.title == "Paris"
    with pytest.raises(NotImplementedError, match="no target log-likelihoods"):
        LangChainGenerator(chat).loglikelihood(["p"], ["t"])


def test_langchain_components_inside_an_agent():
    retriever = LangChainRetriever(KeywordRetriever(docs=DOCS))
    chat = FakeListChatModel(responses=["<search>capital of Germany</search>", "<read>d2</read>",
                                        "<answer>Berlin</answer>"])
    (t,) = ReActAgent(LangChainGenerator(chat), default_tools(retriever, k=1), max_steps=4).run(["Capital of Germany?"])
    assert [s.tool for s in t.steps] == ["search", "read", "answer"] and t.answer == "Berlin"
    assert t.steps[0].passages == ["d2"] and t.steps[1].passages == ["d2"]
