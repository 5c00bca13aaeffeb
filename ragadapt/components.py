"""One persistence protocol for every component of a RAG system, and one dispatch that loads a saved one.

Retriever, reranker, bridge and generator each have `kind` (written to the saved directory's manifest),
`save(directory)`, `load(directory)` for a saved directory (checked against its manifest),
`from_pretrained(name)` for a base model (a retriever is built from passages instead: `DenseRetriever.build`,
since an index needs a corpus), and the trainable `module`. `load_component` reads a directory's manifest and
hands it to the class registered for its kind; nothing else looks loaders up.
"""

from __future__ import annotations

from pathlib import Path

from ragadapt.errors import DataFormatError, ManifestError
from ragadapt.manifest import MANIFEST, read_manifest

ROLES = ("retriever", "reranker", "bridge", "generator")


def registry() -> dict[str, tuple[str, type]]:
    """manifest kind -> (role, class). Imports lazily: loading a retriever needs no generator code."""
    from ragadapt.bridges.bgm import BGMBridge
    from ragadapt.generation.hf import TransformersGenerator
    from ragadapt.generation.seq2seq import Seq2SeqGenerator
    from ragadapt.retrievers.bm25 import BM25Retriever
    from ragadapt.retrievers.dense import DenseRetriever
    from ragadapt.retrievers.hybrid import HybridRetriever
    from ragadapt.retrievers.reranker import CrossEncoderReranker

    kinds = {cls.kind: (role, cls) for role, cls in (
        ("retriever", DenseRetriever), ("retriever", BM25Retriever), ("retriever", HybridRetriever),
        ("reranker", CrossEncoderReranker), ("bridge", BGMBridge),
        ("generator", TransformersGenerator), ("generator", Seq2SeqGenerator))}
    kinds["model"] = ("generator", TransformersGenerator)  # final/ of a training run before format 1.1
    return kinds


def component_kind(directory: str | Path) -> str | None:
    """The kind a saved directory's manifest records (None without a manifest)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError) as e:
        raise ManifestError(f"{path}: corrupted manifest ({e})") from e


def load_component(directory: str | Path, role: str | None = None, **kwargs):
    """Load a saved component by the kind its manifest names; `role` refuses a component of another role
    (a reranker where a retriever belongs). kwargs go to the class's `load` (device=, embedder=, dtype=). A URL
    as the retriever is an index served by `ragadapt serve` (ragadapt.retrievers.remote.RemoteRetriever)."""
    from ragadapt.retrievers.remote import RemoteRetriever, is_url

    if is_url(str(directory)):
        if role not in (None, "retriever"):
            raise DataFormatError(f"{directory}: a URL serves a retriever, not a {role}")
        return RemoteRetriever(str(directory))
    directory = Path(directory)
    kinds = registry()
    if role is None:
        allowed = tuple(kinds)
    else:
        allowed = tuple(k for k, (r, _) in kinds.items() if r == role)
    m = read_manifest(directory, allowed)  # the kind must be known (and of the role); files are checked
    return kinds[m["kind"]][1].load(directory, **kwargs)
