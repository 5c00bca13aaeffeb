"""Lazy, checked import of faiss (an optional extra: faiss-cpu or faiss-gpu, never both)."""

from __future__ import annotations

import functools
import importlib.metadata
import logging

from ragadapt.errors import MissingExtraError

log = logging.getLogger(__name__)


@functools.cache
def import_faiss():
    try:
        import faiss
    except ImportError as e:
        raise MissingExtraError("faiss-cpu", "cpu", "IVF/HNSW indexes (and FAISS flat search)") from e
    installed = []
    for dist in ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12", "faiss-gpu-cu11"):
        try:
            importlib.metadata.version(dist)
            installed.append(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    if len(installed) > 1:
        log.warning(
            "both %s are installed; they ship the same `faiss` module and overwrite each other. "
            "Keep one: pip uninstall %s", " and ".join(installed), " ".join(installed[1:]),
        )
    return faiss


def has_faiss() -> bool:
    try:
        import_faiss()
    except MissingExtraError:
        return False
    return True


def faiss_gpus() -> int:
    faiss = import_faiss()
    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0
