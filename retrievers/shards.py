"""Resumable corpus embedding: passages are embedded in shards, each written atomically to a cache folder as it
finishes; a build killed midway and run again with the same command embeds only the shards that are missing,
and gives the same vectors as a build that was never interrupted (each shard is always encoded alone).

A shard's file name holds a hash of its passages' contents, and the folder's meta.json the embedder's identity
(its name, prefixes, dimension, document dtype and a digest of its weights): a shard made from other text or by another
embedder is never reused. Vectors are stored with numpy's own format (`allow_pickle=False`). Within a shard,
sentence-transformers sorts the texts by length before batching, so padding stays small.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragadapt.retrievers.embedder import EMBED_BATCH_SIZE

log = logging.getLogger(__name__)

META = "meta.json"


def embedder_identity(embedder) -> dict:
    """What the vectors depend on: a retrained embedder at the same path has another weights digest."""
    digest = hashlib.sha256()
    for name, tensor in sorted(embedder.model.state_dict().items())[:: max(1, len(embedder.model.state_dict()) // 16)]:
        digest.update(name.encode())
        digest.update(tensor.detach().float().flatten()[:256].cpu().numpy().tobytes())
    return {"name": str(embedder.name), "doc_prefix": embedder.doc_prefix, "dim": int(embedder.dim),
            "weights": digest.hexdigest()[:16], "doc_dtype": getattr(embedder, "doc_dtype", "fp32")}


def _shard_name(index: int, texts: Sequence[str]) -> str:
    h = hashlib.sha256("\x1e".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"shard-{index:06d}-{h}.npy"


def _save(path: Path, vectors: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as f:
        np.save(f, vectors, allow_pickle=False)
    os.replace(tmp, path)


def encode_resumable(embedder, texts: Sequence[str], cache_dir: str | Path, shard_size: int = 1024,
                     batch_size: int = EMBED_BATCH_SIZE, show_progress: bool = True) -> np.ndarray:
    """Document vectors of `texts` (as `embedder.encode_docs`), shard by shard through `cache_dir`."""
    from tqdm.auto import tqdm

    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    cache = Path(cache_dir)
    identity = {**embedder_identity(embedder), "shard_size": shard_size}
    meta = cache / META
    if cache.is_dir() and (not meta.is_file() or json.loads(meta.read_text(encoding="utf-8")) != identity):
        log.info("%s holds shards of another embedder or shard size: starting afresh", cache)
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    if not meta.is_file():
        meta.write_text(json.dumps(identity), encoding="utf-8")
    shards = [list(texts[i:i + shard_size]) for i in range(0, len(texts), shard_size)]
    paths = [cache / _shard_name(i, shard) for i, shard in enumerate(shards)]
    done = sum(p.is_file() for p in paths)
    if done:
        log.info("resuming the embedding: %d of %d shards already in %s", done, len(shards), cache)
    out = []
    bar = tqdm(total=len(texts), desc="embedding", unit="passage", disable=not show_progress)
    for shard, path in zip(shards, paths):
        vectors = None
        if path.is_file():
            try:
                vectors = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                vectors = None  # unreadable (a disk error): embedded again
            if vectors is not None and vectors.shape != (len(shard), embedder.dim):
                vectors = None
        if vectors is None:
            vectors = embedder.encode_docs(shard, batch_size, show_progress=False)
            _save(path, vectors)
        out.append(vectors)
        bar.update(len(shard))
    bar.close()
    return np.concatenate(out) if out else np.zeros((0, embedder.dim), dtype=np.float32)
