"""RAGSystem: retriever (+ optional reranker and bridge) + generator, saved and loaded as one directory.

Directory layout (written atomically; `manifest.json` last):
    manifest.json   kind "rag-system", the RAGConfig, and how each component is stored
    retriever/      a saved retriever (its own manifest)
    reranker/       optional
    generator/      optional: weights, when the generator is not just a bundled/hub name
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragadapt.atomic import atomic_dir
from ragadapt.manifest import read_manifest, write_manifest
from ragadapt.prompts import DEFAULT_SYSTEM, RAGPrompt
from ragadapt.types import Answer, Hit

log = logging.getLogger(__name__)

KIND = "rag-system"


@dataclass
class RAGConfig:
    k: int = field(default=3, metadata={"help": "passages given to the generator"})
    fetch_k: int = field(default=20, metadata={"help": "candidates retrieved when a reranker or bridge picks from them"})
    max_new_tokens: int = field(default=48, metadata={"help": "answer length limit, in tokens"})
    max_prompt_tokens: int = field(default=1024, metadata={"help": "prompt budget; passages are cut to fit"})
    batch_size: int = field(default=8, metadata={"help": "questions per generation batch"})
    system_prompt: str = field(default=DEFAULT_SYSTEM, metadata={"help": "system message of the RAG prompt"})

    @classmethod
    def from_dict(cls, d: dict) -> RAGConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class RAGSystem:
    COMPONENTS = ("retriever", "reranker", "bridge", "generator")

    def __init__(self, retriever, generator=None, reranker=None, bridge=None, config: RAGConfig | None = None,
                 generator_ref: str | None = None):
        self.retriever, self.generator, self.reranker, self.bridge = retriever, generator, reranker, bridge
        self.config = config or RAGConfig()
        # The name the generator can be re-loaded by; None once its weights changed (then save() stores them).
        self.generator_ref = generator_ref or getattr(generator, "name", None) or None

    # ---- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, corpus, embedder: str = "minilm-l6", generator: str | None = "smollm2-135m-instruct",
              index: str = "flat", bm25: bool = False, chunk_tokens: int = 200, overlap: int = 32,
              device: str | None = None, config: RAGConfig | None = None, show_progress: bool = True,
              strict: bool = False, limit: int | None = None, batch_size: int = 64) -> RAGSystem:
        """Build from `corpus`: a spec string for `load_corpus` (`wiki`, a .jsonl, a folder...) or Documents."""
        from ragadapt.corpora import Chunker, load_corpus, tokenizer_spans
        from ragadapt.generation import TransformersGenerator
        from ragadapt.retrievers import BM25Retriever, DenseRetriever, Embedder, HybridRetriever

        docs = load_corpus(corpus, strict=strict, limit=limit)[0] if isinstance(corpus, str) else list(corpus)
        emb = Embedder.load(embedder, device=device)
        chunker = Chunker(chunk_tokens=min(chunk_tokens, emb.max_tokens - 2), overlap=overlap,
                          spans=tokenizer_spans(emb.tokenizer), title_tokens=16)
        passages = list(chunker.chunk_all(docs))
        log.info("%d documents -> %d passages (chunks of <= %d tokens, overlap %d)",
                 len(docs), len(passages), chunker.chunk_tokens, chunker.overlap)
        retriever = DenseRetriever.build(passages, emb, index=index, device=device, batch_size=batch_size,
                                         show_progress=show_progress)
        if bm25:
            retriever = HybridRetriever({"dense": retriever, "bm25": BM25Retriever.build(passages)})
        gen = TransformersGenerator.load(generator, device=device) if generator else None
        return cls(retriever, gen, config=config, generator_ref=generator)

    # ---- answering ------------------------------------------------------------------------------
    def retrieve(self, questions: Sequence[str], k: int | None = None) -> list[list[Hit]]:
        """Ranked candidates: retriever top-`fetch_k` re-ordered by the reranker when one is set."""
        k = k or self.config.k
        if self.reranker is None:
            return self.retriever.search(list(questions), k)
        candidates = self.retriever.search(list(questions), max(k, self.config.fetch_k))
        return self.reranker.rerank(list(questions), candidates, k)

    def select(self, question: str, hits: Sequence[Hit], k: int | None = None) -> list[Hit]:
        """The passages the generator sees: the bridge's choice, else the top `k`."""
        if self.bridge is not None:
            return list(self.bridge.select(question, hits))
        return list(hits[: k or self.config.k])

    def prompt(self) -> RAGPrompt:
        return RAGPrompt(system=self.config.system_prompt, max_prompt_tokens=self.config.max_prompt_tokens)

    def answer(self, questions: str | Sequence[str], k: int | None = None) -> list[Answer]:
        questions = [questions] if isinstance(questions, str) else list(questions)
        fetch = self.config.fetch_k if self.bridge is not None else (k or self.config.k)
        return self.answer_from_hits(questions, self.retrieve(questions, fetch), k)

    def answer_from_hits(self, questions: Sequence[str], hits: Sequence[Sequence[Hit]],
                         k: int | None = None) -> list[Answer]:
        if self.generator is None:
            raise ValueError("this RAGSystem has no generator (it was loaded with generator=False)")
        if self.bridge is not None and hasattr(self.bridge, "select_batch"):  # one batched bridge call
            chosen = self.bridge.select_batch(list(questions), [list(h) for h in hits])
        else:
            chosen = [self.select(q, h, k) for q, h in zip(questions, hits)]
        template = self.prompt()
        prompts = [template.messages(q, h, self.generator.count_tokens) for q, h in zip(questions, chosen)]
        texts = self.generator.generate(prompts, max_new_tokens=self.config.max_new_tokens,
                                        batch_size=self.config.batch_size)
        return [Answer(q, t, h) for q, t, h in zip(questions, texts, chosen)]

    # ---- freezing -------------------------------------------------------------------------------
    def components(self) -> dict[str, object]:
        return {n: getattr(self, n) for n in self.COMPONENTS if getattr(self, n) is not None}

    def _module(self, name: str):
        component = getattr(self, name, None)
        if name not in self.COMPONENTS:
            raise ValueError(f"unknown component {name!r}; components are {self.COMPONENTS}")
        return getattr(component, "module", None)

    def freeze(self, *names: str) -> None:
        """Freeze components (all when none named): eval mode, no gradients."""
        for name in names or self.COMPONENTS:
            module = self._module(name)
            if module is not None:
                module.eval()
                module.requires_grad_(False)

    def unfreeze(self, *names: str) -> None:
        for name in names:
            module = self._module(name)
            if module is None:
                raise ValueError(f"component {name!r} has no trainable module")
            module.train()
            module.requires_grad_(True)

    def trainable_components(self) -> list[str]:
        return [n for n in self.COMPONENTS
                if (m := self._module(n)) is not None and any(p.requires_grad for p in m.parameters())]

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | Path, save_generator: bool | None = None) -> None:
        """Write the system atomically. The generator's weights are stored when it has no re-loadable
        name (`generator_ref` is None, e.g. after training) or when `save_generator=True`."""
        if self.bridge is not None and not hasattr(self.bridge, "save"):
            raise ValueError(f"the bridge {type(self.bridge).__name__} cannot be saved (it has no save method)")
        store_weights = save_generator if save_generator is not None else self.generator_ref is None
        with atomic_dir(directory) as tmp:
            self.retriever.save(tmp / "retriever")
            parts = {"retriever": {"dir": "retriever"}}
            if self.reranker is not None:
                self.reranker.save(tmp / "reranker")
                parts["reranker"] = {"dir": "reranker"}
            if self.bridge is not None:
                self.bridge.save(tmp / "bridge")
                parts["bridge"] = {"dir": "bridge", "kind": self.bridge.kind}
            if self.generator is not None and store_weights:
                self.generator.save(tmp / "generator")
                parts["generator"] = {"dir": "generator", "name": self.generator.name}
            elif self.generator_ref is not None:
                parts["generator"] = {"ref": self.generator_ref}
            write_manifest(tmp, KIND, config=asdict(self.config), components=parts)

    @classmethod
    def load(cls, directory: str | Path, generator: bool | str | object = True, device: str | None = None,
             backend: str = "transformers") -> RAGSystem:
        """Load a saved system. `generator`: True (as saved), False (retrieval only), a name, or an object."""
        from ragadapt.generation import load_generator
        from ragadapt.retrievers import CrossEncoderReranker, load_retriever

        directory = Path(directory)
        m = read_manifest(directory, KIND, verify_hashes=False)
        parts = m["components"]
        retriever = load_retriever(directory / parts["retriever"]["dir"], device=device)
        reranker = CrossEncoderReranker.load_dir(directory / parts["reranker"]["dir"], device=device) \
            if "reranker" in parts else None
        bridge = load_bridge(directory / parts["bridge"]["dir"], parts["bridge"]["kind"], device) \
            if "bridge" in parts else None
        gen_part = parts.get("generator", {})
        ref = gen_part.get("ref")
        gen = None
        if generator is True and gen_part:
            source = str(directory / gen_part["dir"]) if "dir" in gen_part else ref
            gen = load_generator(source, backend=backend, device=device)
        elif isinstance(generator, str):
            gen, ref = load_generator(generator, backend=backend, device=device), generator
        elif generator not in (True, False, None):
            gen, ref = generator, getattr(generator, "name", None)
        return cls(retriever, gen, reranker=reranker, bridge=bridge, config=RAGConfig.from_dict(m["config"]),
                   generator_ref=ref)


def load_bridge(directory: Path, kind: str, device: str | None):
    """Bridges register their loaders in ragadapt.bridges.LOADERS (the bridge issue adds them)."""
    from ragadapt import bridges

    loaders = getattr(bridges, "LOADERS", {})
    if kind not in loaders:
        raise ValueError(f"{directory}: unknown bridge kind {kind!r}; known: {sorted(loaders)}")
    return loaders[kind](directory, device=device)
