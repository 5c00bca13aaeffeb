"""Embedder: a sentence-transformers model plus the name it was loaded by (recorded in manifests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragadapt.errors import UnknownModelError
from ragadapt.models import hub_load_hint, resolve_model


class Embedder:
    """Encodes queries and documents into L2-normalised float32 vectors (inner product = cosine).

    `query_prefix`/`doc_prefix` serve models trained with instructions (e5: "query: ", "passage: ").
    """

    def __init__(self, model, name: str, query_prefix: str = "", doc_prefix: str = ""):
        self.model = model
        self.name = name
        self.query_prefix, self.doc_prefix = query_prefix, doc_prefix

    @classmethod
    def load(
        cls, name: str = "minilm-l6", device: str | None = None, trust_remote_code: bool = False, **prefixes: str
    ) -> Embedder:
        from sentence_transformers import SentenceTransformer

        from ragadapt.device import default_device

        path = resolve_model(name, kind="embedder")
        try:
            model = SentenceTransformer(path, device=device or default_device(), trust_remote_code=trust_remote_code)
        except OSError as e:
            raise UnknownModelError(hub_load_hint(name, "embedder")) from e
        return cls(model, name, **prefixes)

    @property
    def module(self):
        """The torch module (for freezing and training)."""
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

    def _encode(self, texts: Sequence[str], batch_size: int, show_progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=show_progress,
            normalize_embeddings=True, convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], batch_size, show_progress)

    def encode_docs(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        return self._encode([self.doc_prefix + t for t in texts], batch_size, show_progress)

    def save(self, directory: str | Path) -> None:
        self.model.save(str(directory))
