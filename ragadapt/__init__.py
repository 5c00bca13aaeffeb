"""ragadapt: build a RAG system from a corpus, adapt any of its components, run agentic search over it.

Heavy libraries (torch, transformers, sentence-transformers, faiss) are imported only when used,
so `import ragadapt` and `ragadapt --help` stay fast.
"""

from ragadapt.errors import RagadaptError
from ragadapt.types import Answer, Document, Hit, Passage, QAExample

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("RAGSystem", "RAGConfig"):
        from ragadapt import system

        return getattr(system, name)
    raise AttributeError(f"module 'ragadapt' has no attribute {name!r}")


__all__ = ["Answer", "Document", "Hit", "Passage", "QAExample", "RAGConfig", "RAGSystem", "RagadaptError"]
