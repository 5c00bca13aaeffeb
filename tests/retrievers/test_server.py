"""`ragadapt serve` and RemoteRetriever: the same hits as in-process search for concurrent clients, requests
grouped into few index calls, every bad request answered 4xx while the server goes on serving, clients that
retry and then fail with one clear line."""

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")


class Slow:
    """A retriever whose every index call takes a while, so concurrent requests queue up (and are batched);
    the query `boom` raises, as a failing index would."""

    def __init__(self, inner, delay=0.05):
        self.inner, self.delay, self.calls, self.kind = inner, delay, 0, inner.kind

    def search(self, queries, k):
        self.calls += 1
        if "boom" in queries:
            raise RuntimeError("index exploded")
        time.sleep(self.delay)
        return self.inner.search(queries, k)

    def get(self, passage_id):
        return self.inner.get(passage_id)

    def __len__(self):
        return len(self.inner)


@pytest.fixture
def retriever(corpus_docs):
    from ragadapt.corpora import Chunker
    from ragadapt.retrievers import BM25Retriever

    return BM25Retriever.build([p for d in corpus_docs for p in Chunker(chunk_tokens=120).chunk(d)])


def start(retriever):
    from ragadapt.server import serve_in_thread

    served = serve_in_thread(retriever)
    return served.url, served


@pytest.fixture
def served(retriever):
    slow = Slow(retriever)
    url, server = start(slow)
    yield url, slow
    server.stop()


QUESTIONS = ["What is a list comprehension?", "How do exceptions work?", "What is a generator?", "dictionary keys",
             "string formatting", "the with statement", "classes and inheritance", "import a module"]


def test_concurrent_clients_get_the_in_process_hits_in_few_index_calls(served, retriever):
    from ragadapt.retrievers.remote import RemoteRetriever

    url, slow = served
    remote = RemoteRetriever(url)
    questions = QUESTIONS * 4
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda q: remote.search([q], 3)[0], questions))
    want = retriever.search(questions, 3)
    assert [[h.passage.id for h in hs] for hs in got] == [[h.passage.id for h in hs] for hs in want]
    assert all(abs(a.score - b.score) < 1e-4 for hs, ws in zip(got, want) for a, b in zip(hs, ws))
    assert got[0][0].passage.text == want[0][0].passage.text
    health = remote.health()
    assert health["requests"] == len(questions) and health["batches"] < len(questions)  # grouped into batches
    assert len(remote) == len(retriever) and remote.get(want[0][0].passage.id) == want[0][0].passage


@pytest.mark.parametrize("path, body, status", [
    ("/search", "{not json", 422),
    ("/search", json.dumps({"queries": ["a"], "k": 2, "kk": 1}), 422),  # unknown field
    ("/search", json.dumps({"queries": ["a"], "k": 0}), 422),
    ("/search", json.dumps({"queries": ["a"], "k": 101}), 422),  # k too large
    ("/search", json.dumps({"queries": [""], "k": 2}), 422),  # empty query
    ("/search", json.dumps({"queries": ["   "], "k": 2}), 422),
    ("/search", json.dumps({"queries": [], "k": 2}), 422),
    ("/search", json.dumps({"queries": ["a"] * 257}), 422),  # too many in one request
    ("/search", json.dumps({"queries": ["x" * 5000]}), 422),  # oversized query
    ("/search", json.dumps({"queries": "a"}), 422),
    ("/search", json.dumps({"k": 2}), 422),
    ("/search", json.dumps([1, 2]), 422),
    ("/passages", json.dumps({"ids": ["no-such-id"]}), 404),
    ("/passages", json.dumps({"ids": []}), 422),
    ("/search", json.dumps({"queries": ["boom"]}), 500),  # the index fails: answered, not crashed
])
def test_bad_requests_are_answered_and_the_server_goes_on(served, path, body, status):
    url, _ = served
    response = httpx.post(url + path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status and response.json()["detail"]
    assert httpx.post(url + "/search", json={"queries": ["generator"], "k": 1}).json()["hits"][0]
    assert httpx.get(url + "/health").json()["status"] == "ok"


def test_the_client_says_why_in_one_line(served):
    from ragadapt.errors import DataFormatError
    from ragadapt.retrievers.remote import RemoteRetriever, RetrievalServerError

    url, _ = served
    with pytest.raises(DataFormatError, match=r"refused the request \(422\): k: Input should be less than or equal"):
        RemoteRetriever(url).search(["a"], 1000)
    with pytest.raises(KeyError, match="no passage with id"):
        RemoteRetriever(url).get("nope")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there
    start_time = time.perf_counter()
    with pytest.raises(RetrievalServerError, match=r"did not answer /search after 3 tries .*ragadapt serve"):
        RemoteRetriever(dead, retries=2, backoff=0.05, timeout=1).search(["a"], 1)
    assert time.perf_counter() - start_time >= 0.15  # backed off 0.05 + 0.1 s between the tries


def test_a_saved_system_answers_through_a_served_retriever(tiny_system):
    from ragadapt.system import RAGSystem

    local = RAGSystem.load(tiny_system, generator=False)
    url, server = start(local.retriever)
    try:
        remote = RAGSystem.load(tiny_system, generator=False, retriever=url)
        assert remote.retriever.kind == "remote"
        question = ["Which city is the capital of France?"]
        assert [h.passage.id for h in remote.retrieve(question, 3)[0]] == \
            [h.passage.id for h in local.retrieve(question, 3)[0]]
    finally:
        server.stop()


@cache
def served_pydoc() -> str:
    """One server over BM25 on the Python docs for the whole session (the LangChain suite builds its retriever
    from class properties, not fixtures); a daemon thread, gone with the test process."""
    from pydoc_data.topics import topics

    from ragadapt.retrievers import BM25Retriever
    from ragadapt.types import Passage

    passages = [Passage(f"t{i}", text[:600], name) for i, (name, text) in enumerate(sorted(topics.items()))]
    return start(BM25Retriever.build(passages))[0]


langchain_tests = pytest.importorskip("langchain_tests.integration_tests")


class TestRemoteRetrieverStandard(langchain_tests.RetrieversIntegrationTests):
    """LangChain's standard retriever suite, run on a RemoteRetriever: every search goes over HTTP."""

    @property
    def retriever_constructor(self):
        from ragadapt.agents.langchain import RagadaptRetriever

        return RagadaptRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        from ragadapt.retrievers.remote import RemoteRetriever

        return {"retriever": RemoteRetriever(served_pydoc()), "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return "how does the for statement loop over a sequence"
