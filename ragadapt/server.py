"""Retrieval over HTTP: one process holds the index; evaluation, agents, RL rollouts in several `accelerate`
processes and LangChain search it by URL (`ragadapt serve SYSTEM`, `ragadapt.retrievers.remote.RemoteRetriever`).

    GET  /health                                  -> {"status": "ok", "passages": N, "kind": ..., "batches": ...}
    POST /search   {"queries": ["..."], "k": 5}   -> {"hits": [[{passage fields, "score", "rank"}]]}
    POST /passages {"ids": ["..."]}               -> {"passages": [{"id", "text", "title", "doc_id", ...}]}

FastAPI validates every request (unknown fields, k <= 0, k or the batch too large, empty or over-long queries
are answered 422 naming the field; unknown passage ids 404) and a failing search is answered 500 with its
message: no input stops the server. Concurrent /search requests are grouped into one index call by the small
batcher below, written here because neither FastAPI nor uvicorn batches requests, while the embedder and FAISS
are many times faster on one batch of queries than on as many single ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

log = logging.getLogger(__name__)

MAX_K = 100
MAX_QUERIES = 256  # per request; the batcher groups requests up to MAX_BATCH queries per index call
MAX_BATCH = 512
MAX_QUERY_CHARS = 4000
MAX_IDS = 1000

Query = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]
PassageId = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queries: list[Query] = Field(min_length=1, max_length=MAX_QUERIES)
    k: int = Field(5, ge=1, le=MAX_K)


class PassagesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[PassageId] = Field(min_length=1, max_length=MAX_IDS)


def passage_json(p) -> dict:
    return p.to_dict()  # id, text, title, doc_id, start, end, source


class Batcher:
    """Requests wait in a queue; one worker takes every request queued while the previous index call ran (up to
    MAX_BATCH queries) and answers them with one `search(queries, max k)` in a thread, each cut to its own k. No
    waiting window: a lone request is searched at once, and batches form exactly when the index is busy."""

    def __init__(self, search: Callable, max_batch: int = MAX_BATCH):
        self.search, self.max_batch = search, max_batch
        self.queue: asyncio.Queue | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragadapt-search")
        self.batches = self.requests = 0

    async def submit(self, queries: list[str], k: int):
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((queries, k, future))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            size = len(batch[0][0])
            while size < self.max_batch and not self.queue.empty():
                item = self.queue.get_nowait()
                batch.append(item)
                size += len(item[0])
            queries = [q for qs, _, _ in batch for q in qs]
            k = max(k for _, k, _ in batch)
            self.batches, self.requests = self.batches + 1, self.requests + len(batch)
            try:
                hits = await loop.run_in_executor(self.executor, self.search, queries, k)
            except Exception as e:  # noqa: BLE001 - answered as a 500; the server goes on serving
                log.exception("search failed")
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            start = 0
            for qs, own_k, future in batch:
                if not future.done():
                    future.set_result([h[:own_k] for h in hits[start:start + len(qs)]])
                start += len(qs)


def create_app(retriever):
    """A FastAPI app serving `retriever` (any Retriever: dense, BM25, hybrid; a system's, reranker excluded)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import JSONResponse

    batcher = Batcher(retriever.search)

    @asynccontextmanager
    async def lifespan(app):
        batcher.queue = asyncio.Queue()
        worker = asyncio.create_task(batcher.run())
        yield
        worker.cancel()
        batcher.executor.shutdown(wait=False)

    app = FastAPI(title="ragadapt retrieval", lifespan=lifespan)
    app.state.batcher = batcher

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        return JSONResponse(status_code=500, content={"detail": f"{type(exc).__name__}: {exc}"})

    @app.get("/health")
    async def health():
        return {"status": "ok", "passages": len(retriever), "kind": getattr(retriever, "kind", "?"),
                "batches": batcher.batches, "requests": batcher.requests,
                "limits": {"k": MAX_K, "queries": MAX_QUERIES, "query_chars": MAX_QUERY_CHARS, "ids": MAX_IDS}}

    @app.post("/search")
    async def search(request: SearchRequest):
        hits = await batcher.submit(list(request.queries), request.k)
        return {"hits": [[{**passage_json(h.passage), "score": float(h.score), "rank": h.rank} for h in hs]
                         for hs in hits]}

    @app.post("/passages")
    async def passages(request: PassagesRequest):
        out = []
        for passage_id in request.ids:
            try:
                out.append(passage_json(retriever.get(passage_id)))
            except KeyError:
                raise HTTPException(status_code=404, detail=f"no passage with id {passage_id!r}") from None
        return {"passages": out}

    return app


def serve(retriever, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(create_app(retriever), host=host, port=port, log_level=log_level)


class Served:
    """A server running in a daemon thread of this process (`serve_in_thread`): `url`, and `stop()` (or use it as a
    context manager). For tests, benchmarks and a script that shares one index between its own threads; other
    processes use `ragadapt serve`."""

    def __init__(self, server, thread, url: str):
        self._server, self._thread, self.url = server, thread, url

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_in_thread(retriever, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                    start_timeout: float = 30.0) -> Served:
    """Serve `retriever` from a daemon thread and return once it accepts requests; port 0 picks a free one."""
    import socket
    import threading
    import time

    import uvicorn

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(retriever), host=host, port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, daemon=True, name=f"ragadapt-serve-{port}")
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the retrieval server on {host}:{port} did not start (port in use?)")
        time.sleep(0.01)
    return Served(server, thread, f"http://{host}:{port}")
