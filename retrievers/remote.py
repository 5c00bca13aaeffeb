"""A Retriever that searches an index served by `ragadapt serve` (ragadapt.server) over HTTP.

Many processes (evaluation, agents, GRPO rollouts in several `accelerate` processes, LangChain) share one index
by URL instead of each loading its own copy. Calls are batched like any retriever's (`search(queries, k)`),
split into requests of at most the server's per-request limit; connection errors and 5xx answers are retried
with exponential backoff, a 4xx answer is a one-line error with the server's reason, and a server that stays
away ends in one line that says which URL did not answer and how often it was tried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ragadapt.errors import DataFormatError, RagadaptError
from ragadapt.types import Hit, Passage

log = logging.getLogger(__name__)


class RetrievalServerError(RagadaptError):
    """The retrieval server could not be reached, or it failed on every try."""


def is_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("http://", "https://"))


class RemoteRetriever:
    kind = "remote"

    def __init__(self, url: str, timeout: float = 30.0, retries: int = 4, backoff: float = 0.5,
                 batch_size: int = 256):
        import httpx

        self.url, self.retries, self.backoff, self.batch_size = url.rstrip("/"), retries, backoff, batch_size
        self._client = httpx.Client(base_url=self.url, timeout=timeout)
        self._size: int | None = None

    # ---- HTTP -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        import httpx

        last: str = ""
        for attempt in range(self.retries + 1):
            try:
                response = self._client.request(method, path, json=payload)
            except httpx.TransportError as e:  # refused, reset, timed out: the server may be starting
                last = f"{type(e).__name__}: {e}"
            else:
                if response.status_code < 400:
                    return response.json()
                detail = _detail(response)
                if response.status_code < 500:
                    raise DataFormatError(f"retrieval server {self.url}{path} refused the request "
                                          f"({response.status_code}): {detail}")
                last = f"{response.status_code}: {detail}"
            if attempt < self.retries:
                delay = self.backoff * 2 ** attempt
                log.warning("retrieval server %s%s: %s; retrying in %.1f s", self.url, path, last, delay)
                time.sleep(delay)
        raise RetrievalServerError(f"retrieval server {self.url} did not answer {path} after {self.retries + 1} "
                                   f"tries (last: {last}); is `ragadapt serve` running there?")

    # ---- the Retriever protocol -----------------------------------------------------------------
    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        out: list[list[Hit]] = []
        queries = list(queries)
        for start in range(0, len(queries), self.batch_size):
            chunk = queries[start:start + self.batch_size]
            hits = self._call("POST", "/search", {"queries": chunk, "k": k})["hits"]
            out += [[Hit(_passage(h), float(h["score"]), int(h["rank"])) for h in hs] for hs in hits]
        return out

    def get(self, passage_id: str) -> Passage:
        try:
            return _passage(self._call("POST", "/passages", {"ids": [passage_id]})["passages"][0])
        except DataFormatError as e:
            if "(404)" in str(e):
                raise KeyError(f"no passage with id {passage_id!r}") from None
            raise

    def health(self) -> dict:
        return self._call("GET", "/health")

    def __len__(self) -> int:
        if self._size is None:
            self._size = int(self.health()["passages"])
        return self._size

    def add(self, passages: Sequence[Passage]) -> None:
        raise DataFormatError(f"the index at {self.url} is served read-only; add passages where it is built")

    def save(self, directory: str | Path) -> None:
        raise DataFormatError(f"a remote retriever ({self.url}) is not saved into a system; save the system that "
                              "serves it")

    def close(self) -> None:
        self._client.close()


def _passage(row: dict) -> Passage:
    return Passage.from_dict(row)  # score and rank are not passage fields: left out


def _detail(response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return response.text[:300]
    if isinstance(detail, list):  # pydantic's validation errors: name each field and what is wrong with it
        return "; ".join(f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)
