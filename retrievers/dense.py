"""Dense retrieval: a sentence-transformers embedder, a vector index and the passages behind it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ragadapt.atomic import atomic_dir
from ragadapt.errors import ManifestError
from ragadapt.manifest import read_manifest, write_manifest
from ragadapt.retrievers.embedder import EMBED_BATCH_SIZE, Embedder, resolve_doc_dtype
from ragadapt.retrievers.store import PassageStore
from ragadapt.retrievers.vector_index import IndexSpec, VectorIndex
from ragadapt.types import Hit, Passage

log = logging.getLogger(__name__)

EMBEDDER_SUBDIR = "embedder"


def hits_from_rows(store: PassageStore, scores, rows) -> list[list[Hit]]:
    """Turn index rows (-1 = no result) into Hits, rank by rank. Hot path of every search: plain loops."""
    passages = store.passages
    out = []
    for srow, rrow in zip(scores.tolist(), rows.tolist()):
        hits = []
        for s, r in zip(srow, rrow):
            if r >= 0:
                hits.append(Hit(passages[r], s, len(hits)))
        out.append(hits)
    return out


class DenseRetriever:
    """Bi-encoder retrieval. The manifest records the embedder, so an index never meets the wrong one."""

    kind = "dense"

    def __init__(self, embedder: Embedder, index: VectorIndex, store: PassageStore | None = None,
                 batch_size: int = EMBED_BATCH_SIZE):
        if index.dim != embedder.dim:
            raise ValueError(f"index dimension {index.dim} != embedder '{embedder.name}' dimension {embedder.dim}")
        self.embedder, self.index = embedder, index
        self.store = store if store is not None else PassageStore()
        self.batch_size = batch_size

    @classmethod
    def build(cls, passages: Sequence[Passage], embedder: Embedder | str = "minilm-l6",
              index: IndexSpec | str = "flat", device: str | None = None, batch_size: int | None = None,
              show_progress: bool = True, shard_dir: str | Path | None = None,
              shard_size: int = 1024, embed_devices: list[str] | None = None,
              embed_dtype: str = "auto") -> DenseRetriever:
        """`shard_dir`: embed through resumable shards there (ragadapt.retrievers.shards): a killed build run
        again embeds only what is missing. `embed_devices`: one embedding process per device (two or more).
        `embed_dtype`: the documents' encoding dtype (auto: bf16 where native; see resolve_doc_dtype), recorded
        in the manifest so passages added later are encoded alike."""
        if isinstance(embedder, str):
            embedder = Embedder.load(embedder, device=device)
        embedder.doc_dtype = resolve_doc_dtype(embed_dtype, str(embedder.model.device))
        log.info("documents are embedded in %s (embed dtype %s)", embedder.doc_dtype, embed_dtype)
        retriever = cls(embedder, VectorIndex(embedder.dim, index, device), batch_size=batch_size or EMBED_BATCH_SIZE)
        with embedder.processes(embed_devices):
            retriever.add(passages, show_progress=show_progress, shard_dir=shard_dir, shard_size=shard_size)
        return retriever

    @property
    def module(self):
        return self.embedder.module

    def __len__(self) -> int:
        return len(self.store)

    def get(self, passage_id: str) -> Passage:
        return self.store.get(passage_id)

    index_recall: dict | None = None  # an approximate index's recall@10 against exact search, measured at build

    def add(self, passages: Sequence[Passage], show_progress: bool = False, shard_dir: str | Path | None = None,
            shard_size: int = 1024) -> None:
        passages = list(passages)
        self.store.extend(passages)  # checks ids first, so a duplicate leaves the index unchanged
        try:
            texts = [p.contents for p in passages]
            if shard_dir is not None:
                from ragadapt.retrievers.shards import encode_resumable

                vectors = encode_resumable(self.embedder, texts, shard_dir, shard_size, self.batch_size, show_progress)
            else:
                vectors = self.embedder.encode_docs(texts, self.batch_size, show_progress)
            self.index.add(vectors)
        except BaseException:
            self.store = PassageStore(self.store.passages[: len(self.store) - len(passages)])
            raise
        if self.index.spec.kind != "flat" and len(self.store) == len(passages):  # a fresh approximate index
            self.index_recall = approximate_recall(self, vectors)

    def reembed(self, show_progress: bool = False) -> None:
        """Rebuild the index from the current embedder (after the document encoder was trained, or its
        dimension changed). The old index stays in place if encoding fails."""
        vectors = self.embedder.encode_docs([p.contents for p in self.store.passages], self.batch_size,
                                            show_progress)
        index = VectorIndex(self.embedder.dim, self.index.spec)
        index.add(vectors)
        self.index = index

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        q = self.embedder.encode_queries(list(queries), self.batch_size)
        scores, rows = self.index.search(q, k)
        return hits_from_rows(self.store, scores, rows)

    def save(self, directory: str | Path, save_embedder: bool | None = None) -> None:
        """Write atomically. `save_embedder` stores the embedder's weights too (default: when they were
        trained or loaded from a saved index, i.e. when no model name can re-load them)."""
        if save_embedder is None:
            save_embedder = self.embedder.modified or self.embedder.asymmetric
        with atomic_dir(directory) as tmp:
            vectors_file = self.index.save(tmp)
            self.store.save(tmp)
            if save_embedder:
                self.embedder.save(tmp / EMBEDDER_SUBDIR)
            write_manifest(
                tmp, self.kind, embedder=self.embedder.name, dim=self.embedder.dim, count=len(self.store),
                index=self.index.spec.to_dict(), vectors=vectors_file,
                embedder_dir=EMBEDDER_SUBDIR if save_embedder else None,
                query_prefix=self.embedder.query_prefix, doc_prefix=self.embedder.doc_prefix,
                doc_dtype=self.embedder.doc_dtype,
                **({"index_recall": self.index_recall} if self.index_recall else {}),
            )

    @classmethod
    def load(cls, directory: str | Path, embedder: Embedder | str | None = None,
             device: str | None = None) -> DenseRetriever:
        """Load an index. Passing an embedder whose name or dimension differs from the saved one fails."""
        directory = Path(directory)
        m = read_manifest(directory, cls.kind)
        if embedder is None:
            source = str(directory / m["embedder_dir"]) if m.get("embedder_dir") else m["embedder"]
            embedder = Embedder.load(source, device=device, query_prefix=m.get("query_prefix", ""),
                                     doc_prefix=m.get("doc_prefix", ""))
            embedder.name, embedder.modified = m["embedder"], bool(m.get("embedder_dir"))
        elif isinstance(embedder, str):
            embedder = Embedder.load(embedder, device=device)
        if embedder.dim != m["dim"]:
            raise ManifestError(
                f"{directory}: the index holds {m['dim']}-d vectors but embedder '{embedder.name}' makes "
                f"{embedder.dim}-d ones; re-embed the passages with it (DenseRetriever.reembed, or "
                f"`ragadapt build`) or load the index with the embedder it was built with")
        read_manifest(directory, cls.kind, {"embedder": embedder.name, "dim": embedder.dim}, verify_hashes=False)
        embedder.doc_dtype = m.get("doc_dtype", "fp32")  # passages added or re-embedded later match the index
        index = VectorIndex.load(directory, m["dim"], IndexSpec.from_dict(m["index"]), device)
        store = PassageStore.load(directory)
        if not (len(store) == index.ntotal == m["count"]):
            raise ManifestError(
                f"{directory}: counts disagree (manifest {m['count']}, passages {len(store)}, vectors "
                f"{index.ntotal}); the index is corrupted: rebuild it"
            )
        return cls(embedder, index, store)



def approximate_recall(retriever: DenseRetriever, vectors, queries: int = 200, k: int = 10, seed: int = 0) -> dict:
    """recall@k of the approximate index against exact inner-product search over the same `vectors`, on
    `queries` held-out queries: the titles (else the opening words) of passages drawn at random, embedded as
    queries are. Logged and recorded in the manifest, so a user sees what the preset costs on their corpus."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = rng.choice(len(retriever.store), min(queries, len(retriever.store)), replace=False)
    texts = [retriever.store[int(r)].title or " ".join(retriever.store[int(r)].text.split()[:8]) for r in rows]
    q = retriever.embedder.encode_queries(texts, retriever.batch_size)
    from ragadapt.retrievers.faiss_support import import_faiss

    faiss = import_faiss()  # the approximate kinds are FAISS indexes
    k = min(k, len(vectors))
    _, exact = faiss.knn(np.ascontiguousarray(q, dtype=np.float32), np.ascontiguousarray(vectors, dtype=np.float32),
                         k, metric=faiss.METRIC_INNER_PRODUCT)  # blocked brute force: memory stays bounded
    _, approx = retriever.index.search(q, k)
    recall = float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx.tolist(), exact.tolist())]))
    log.info("%s index: recall@%d %.3f against exact search on %d held-out queries", retriever.index.spec.kind, k,
             recall, len(rows))
    return {f"recall@{k}_vs_flat": round(recall, 4), "queries": int(len(rows))}
