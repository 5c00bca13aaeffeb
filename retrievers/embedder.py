"""Embedder: a sentence-transformers model plus the name it was loaded by (recorded in manifests)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ragadapt.errors import UnknownModelError
from ragadapt.models import hub_load_hint, resolve_model

log = logging.getLogger(__name__)

QUERY_SUBDIR = "query_encoder"
DOC_DTYPES = ("auto", "fp32", "bf16")
# Texts per encode batch: sentence-transformers' own default. On the 2-core Zen 4 here 32 beat 64 for
# 200-token passages (bf16: ~0.46x vs ~0.50x the fp32-at-64 time on 1,000 passages; fp32 too): smaller
# activations stay in cache. Larger batches pay on a GPU: pass batch_size there.
EMBED_BATCH_SIZE = 32


def resolve_doc_dtype(choice: str, device: str) -> str:
    """`auto`: bf16 where the device has native bf16 matmuls (`scoring_dtype`), else fp32. Measured with
    `benchmarks/bench_build.py` on a 2-core Zen 4 (AVX-512 BF16): MiniLM documents ~2x faster than fp32, vectors at
    cosine >= 0.9999 to fp32 ones and the same top-1 passage for the dev questions; emulated bf16 would be slower."""
    from ragadapt.device import scoring_dtype
    from ragadapt.errors import DataFormatError

    if choice not in DOC_DTYPES:
        raise DataFormatError(f"embed dtype must be one of {', '.join(DOC_DTYPES)}, got {choice!r}",
                              field="embed_dtype")
    if choice != "auto":
        return choice
    import torch

    return "bf16" if scoring_dtype(device) == torch.bfloat16 else "fp32"


class Embedder:
    """Encodes queries and documents into L2-normalised float32 vectors (inner product = cosine).

    `query_prefix`/`doc_prefix` serve models trained with instructions (e5: "query: ", "passage: ").
    `query_model` makes it asymmetric: queries go through their own (e.g. LSR-trained) copy while
    documents keep the encoder the index was built with, so no re-embedding is needed.
    `modified` marks weights that no name can re-load (trained, or read from a saved system): saving a
    retriever then stores them. `doc_dtype` bf16 encodes documents under bf16 autocast (matmuls in bf16,
    layer norms and the residual stream in fp32: cosine >= 0.9999 to fp32, where a bf16 copy of the whole model
    reaches only 0.998); queries and training stay fp32.
    """

    def __init__(self, model, name: str, query_prefix: str = "", doc_prefix: str = "", query_model=None,
                 modified: bool = False, doc_dtype: str = "fp32"):
        self.model = model
        self.doc_dtype = doc_dtype
        self.query_model = query_model if query_model is not None else model
        self.name = name
        self.query_prefix, self.doc_prefix = query_prefix, doc_prefix
        self.modified = modified

    @property
    def asymmetric(self) -> bool:
        return self.query_model is not self.model

    def split_query_encoder(self) -> None:
        """Give queries a trainable copy of the encoder; documents keep the original (frozen) one."""
        import copy

        if not self.asymmetric:
            self.query_model = copy.deepcopy(self.model)

    @classmethod
    def load(
        cls, name: str = "minilm-l6", device: str | None = None, trust_remote_code: bool = False, **prefixes: str
    ) -> Embedder:
        from sentence_transformers import SentenceTransformer

        from ragadapt.device import default_device

        path = resolve_model(name, kind="embedder")
        device = device or default_device()
        try:
            model = SentenceTransformer(path, device=device, trust_remote_code=trust_remote_code)
        except OSError as e:
            raise UnknownModelError(hub_load_hint(name, "embedder")) from e
        query_dir = Path(path) / QUERY_SUBDIR
        query_model = SentenceTransformer(str(query_dir), device=device, trust_remote_code=trust_remote_code) \
            if query_dir.is_dir() else None
        return cls(model, name, query_model=query_model, **prefixes)

    @property
    def module(self):
        """The torch module(s) (for freezing and training): both encoders when they are separate."""
        if self.asymmetric:
            import torch

            return torch.nn.ModuleDict({"query": self.query_model, "document": self.model})
        return self.model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    pool = None  # a sentence-transformers process pool while `processes(...)` is open: documents are encoded there

    @contextmanager
    def processes(self, devices: Sequence[str] | None):
        """Encode documents in one process per device while open (sentence-transformers' multi-process pool), e.g.
        ["cuda:0", "cuda:1"], or ["cpu"] * n with the CPU's threads shared out between them. None or one device:
        in this process. The vectors agree with in-process ones to float precision (the same model per chunk)."""
        import os

        if not devices or len(devices) < 2:
            yield self
            return
        threads = os.environ.get("OMP_NUM_THREADS")
        cpus = sum(d == "cpu" for d in devices)
        if cpus:  # the workers read it when they start: the cores split between them, not each taking all
            os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // cpus))
        if self.doc_dtype != "fp32":  # the pool's workers encode without this process's autocast
            log.info("documents embedded in fp32: a process pool runs without bf16 autocast")
            self.doc_dtype = "fp32"
        try:
            self.pool = self.model.start_multi_process_pool(list(devices))
        finally:
            if threads is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = threads
        try:
            yield self
        finally:
            self.model.stop_multi_process_pool(self.pool)
            self.pool = None

    def _encode(self, model, texts: Sequence[str], batch_size: int, show_progress: bool, pool=None) -> np.ndarray:
        vectors = model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=show_progress,
            normalize_embeddings=True, convert_to_numpy=True,
            **({"pool": pool, "chunk_size": max(1, -(-len(texts) // (4 * len(pool["processes"]))))} if pool else {}),
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _doc_precision(self):
        import contextlib

        if self.doc_dtype == "fp32":
            return contextlib.nullcontext()
        return _bf16_autocast(self.model)

    def encode_queries(self, texts: Sequence[str], batch_size: int = EMBED_BATCH_SIZE,
                       show_progress: bool = False) -> np.ndarray:
        return self._encode(self.query_model, [self.query_prefix + t for t in texts], batch_size, show_progress)

    def encode_docs(self, texts: Sequence[str], batch_size: int = EMBED_BATCH_SIZE,
                    show_progress: bool = False) -> np.ndarray:
        with self._doc_precision():
            return self._encode(self.model, [self.doc_prefix + t for t in texts], batch_size, show_progress,
                                self.pool if len(texts) > batch_size else None)

    def save(self, directory: str | Path) -> None:
        """The document encoder in `directory`, a separate query encoder in `directory/query_encoder`."""
        self.model.save(str(directory))
        if self.asymmetric:
            self.query_model.save(str(Path(directory) / QUERY_SUBDIR))


@contextmanager
def _bf16_autocast(model):
    """bf16 autocast with the Linear layers' weights cast to bf16 once for the whole call, the fp32 ones put back
    after. Autocast would cast each weight again at every batch (under inference mode its cast cache is off);
    the matmuls see the very same bf16 values, so the vectors are bit for bit autocast's (measured: 5-7% less
    time on 1,000 passages). Not for a model another thread encodes or trains with meanwhile."""
    import torch

    saved = []
    try:
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                for param in (module.weight, module.bias):
                    if param is not None and param.dtype == torch.float32:
                        saved.append((param, param.data))
                        param.data = param.data.to(torch.bfloat16)
        with torch.autocast(model.device.type, dtype=torch.bfloat16):
            yield
    finally:
        for param, data in saved:
            param.data = data
