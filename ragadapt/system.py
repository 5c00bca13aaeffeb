"""RAGSystem: retriever (+ optional reranker and bridge) + generator, saved and loaded as one directory.

Directory layout (written atomically; `manifest.json` last):
    manifest.json   kind "rag-system", the RAGConfig, and per component: its directory, kind, checksum and
                    where it came from (`provenance`: which run and config made it)
    retriever/      a saved retriever (its own manifest)
    reranker/       optional
    bridge/         optional
    generator/      optional: weights, when the generator is not a bundled alias or hub id

A component loaded from a saved system and not replaced since is carried over byte for byte when the system
is saved again (hard links where possible): adapting one component leaves the others' checksums unchanged.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragadapt.atomic import atomic_dir
from ragadapt.errors import DataFormatError, ManifestError
from ragadapt.manifest import MANIFEST, checksum, read_manifest, write_manifest
from ragadapt.prompts import DEFAULT_SYSTEM, RAGPrompt
from ragadapt.types import Answer, Hit

if TYPE_CHECKING:
    from ragadapt.retrievers.vector_index import IndexSpec

log = logging.getLogger(__name__)

KIND = "rag-system"


@dataclass
class RAGConfig:
    k: int = field(default=1, metadata={"help": "passages given to the generator (1 is best for the bundled "
                                                 "SmolLM2-135M: measured in the README)"})
    fetch_k: int = field(default=20, metadata={"help": "candidates retrieved when a reranker or bridge picks from them"})
    max_new_tokens: int = field(default=48, metadata={"help": "answer length limit, in tokens"})
    max_prompt_tokens: int = field(default=1024, metadata={"help": "prompt budget; passages are cut to fit"})
    batch_size: int = field(default=8, metadata={"help": "questions per generation batch"})
    system_prompt: str = field(default=DEFAULT_SYSTEM, metadata={"help": "system message of the RAG prompt"})

    def __post_init__(self):
        for name in ("k", "fetch_k", "max_new_tokens", "max_prompt_tokens", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataFormatError(f"must be a whole number >= 1, got {value!r}", field=f"config.{name}")
        if not isinstance(self.system_prompt, str):
            raise DataFormatError(f"must be text, got {self.system_prompt!r}", field="config.system_prompt")

    @classmethod
    def from_dict(cls, d: dict) -> RAGConfig:
        if not isinstance(d, dict):
            raise DataFormatError(f"must be a mapping, got {type(d).__name__}", field="config")
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def portable_name(ref: str | None) -> bool:
    """A generator name a system can store as a reference: a bundled alias or a hub id, not a local path
    (a path would break when the system moves, and its files could change under it)."""
    return bool(ref) and not Path(ref).expanduser().exists()


def _link_or_copy(src: str, dst: str) -> None:
    """Carried-over components are hard-linked where the filesystem allows: every writer here replaces files
    (atomic renames) rather than editing them, so a link never sees its bytes change."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _inside(directory: Path, part: dict, name: str) -> Path:
    rel = part.get("dir")
    if not isinstance(rel, str) or not rel:
        raise ManifestError(f"{directory / MANIFEST}: component {name!r} has no directory (field components.{name}.dir)")
    path = (directory / rel).resolve()
    if directory.resolve() not in path.parents:
        raise ManifestError(f"{directory / MANIFEST}: component {name!r} points outside the system ({rel!r}); a "
                            "saved system holds its components inside its own directory")
    return path


class RAGSystem:
    COMPONENTS = ("retriever", "reranker", "bridge", "generator")

    def __init__(self, retriever, generator=None, reranker=None, bridge=None, config: RAGConfig | None = None,
                 generator_ref: str | None = None):
        self._origin: dict[str, Path] = {}  # component -> saved directory it is an unchanged copy of
        self.provenance: dict[str, dict] = {}  # component -> where it came from (run, method, config)
        self.retriever, self.generator, self.reranker, self.bridge = retriever, generator, reranker, bridge
        self.config = config or RAGConfig()
        # The name the generator can be re-loaded by; None once its weights changed (then save() stores them).
        self.generator_ref = generator_ref or getattr(generator, "name", None) or None

    def __setattr__(self, name, value):
        if name in self.COMPONENTS:  # a replaced component is saved from memory, not copied from its origin
            self.__dict__.get("_origin", {}).pop(name, None)
            self.__dict__.get("provenance", {}).pop(name, None)
            if name == "generator" and "generator_ref" in self.__dict__:
                self.__dict__["generator_ref"] = None
        super().__setattr__(name, value)

    def replace(self, name: str, component, provenance: dict | None = None, directory: str | Path | None = None) -> None:
        """Put `component` in slot `name` and record where it came from. With `directory` (a saved component,
        e.g. a training run's final/), the saved system copies that directory; `component` may then be None
        (carried without being loaded). Otherwise `component` is saved from memory."""
        if name not in self.COMPONENTS:
            raise ValueError(f"unknown component {name!r}; components are {self.COMPONENTS}")
        if component is None and directory is None:
            raise ValueError(f"replace({name!r}): give the component or the directory it is saved in")
        setattr(self, name, component)
        if directory is not None:
            self._origin[name] = Path(directory)
        if provenance:
            self.provenance[name] = provenance

    # ---- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, corpus, embedder: str = "minilm-l6", generator: str | None = "smollm2-135m-instruct",
              index: str | IndexSpec = "flat", bm25: bool = False, chunk_tokens: int = 200, overlap: int = 32,
              device: str | None = None, config: RAGConfig | None = None, show_progress: bool = True,
              strict: bool = False, limit: int | None = None, batch_size: int | None = None, shard_dir=None,
              shard_size: int = 1024, embed_devices: list[str] | None = None, embed_dtype: str = "auto") -> RAGSystem:
        """Build from `corpus`: a spec string for `load_corpus` (`wiki`, a .jsonl, a folder...) or Documents.
        `shard_dir`: embed through resumable shards there (a killed build resumes; see retrievers.shards).
        `embed_devices`: embed in one process per device (Embedder.processes). `embed_dtype`: auto, fp32 or
        bf16 for the documents (auto: bf16 where the device has native bf16)."""
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
                                         show_progress=show_progress, shard_dir=shard_dir, shard_size=shard_size,
                                         embed_devices=embed_devices, embed_dtype=embed_dtype)
        if bm25:
            retriever = HybridRetriever({"dense": retriever, "bm25": BM25Retriever.build(passages)})
        gen = TransformersGenerator.from_pretrained(generator, device=device) if generator else None
        return cls(retriever, gen, config=config, generator_ref=generator)

    # ---- answering ------------------------------------------------------------------------------
    @staticmethod
    def _check_k(k) -> None:
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise ValueError(f"k must be a whole number >= 1, got {k!r}")

    def retrieve(self, questions: Sequence[str], k: int | None = None) -> list[list[Hit]]:
        """Ranked candidates: retriever top-`fetch_k` re-ordered by the reranker when one is set."""
        self._check_k(k)
        k = k or self.config.k
        if self.reranker is None:
            return self.retriever.search(list(questions), k)
        candidates = self.retriever.search(list(questions), max(k, self.config.fetch_k))
        return self.reranker.rerank(list(questions), candidates, k)

    def select(self, questions: Sequence[str], hits: Sequence[Sequence[Hit]], k: int | None = None) -> list[list[Hit]]:
        """The passages the generator sees, per question: the bridge's choice (one batched call), else the top `k`."""
        if self.bridge is not None:
            return [list(c) for c in self.bridge.select_batch(list(questions), [list(h) for h in hits])]
        return [list(h[: k or self.config.k]) for h in hits]

    def prompt(self) -> RAGPrompt:
        return RAGPrompt(system=self.config.system_prompt, max_prompt_tokens=self.config.max_prompt_tokens)

    def answer(self, questions: str | Sequence[str], k: int | None = None) -> list[Answer]:
        from ragadapt.text import clean_text

        questions = [clean_text(q) for q in ([questions] if isinstance(questions, str) else list(questions))]
        return self.answer_from_hits(questions, self.candidates(questions, k), k)

    def candidates(self, questions: Sequence[str], k: int | None = None) -> list[list[Hit]]:
        """What `answer` retrieves per question: the top `k`, or `fetch_k` for the bridge to choose from."""
        self._check_k(k)
        fetch = self.config.fetch_k if self.bridge is not None else (k or self.config.k)
        return self.retrieve(questions, fetch)

    def answer_from_hits(self, questions: Sequence[str], hits: Sequence[Sequence[Hit]],
                         k: int | None = None) -> list[Answer]:
        chosen, prompts = self.served_prompts(questions, hits, k)
        texts = self.generator.generate(prompts, max_new_tokens=self.config.max_new_tokens,
                                        batch_size=self.config.batch_size)
        texts = [self._ended(t) for t in texts]
        return [Answer(q, t, h) for q, t, h in zip(questions, texts, chosen)]

    def served_prompts(self, questions: Sequence[str], hits: Sequence[Sequence[Hit]],
                       k: int | None = None) -> tuple[list[list[Hit]], list[list[dict[str, str]]]]:
        """(passages, chat prompt) per question, exactly as `answer` gives them to the generator."""
        if self.generator is None:
            raise ValueError("this RAGSystem has no generator (it was loaded with generator=False)")
        chosen = self.select(questions, hits, k)
        template = self.prompt()
        return chosen, [template.messages(q, h, self.generator.count_tokens) for q, h in zip(questions, chosen)]

    def _ended(self, text: str) -> str:
        """A reply that used every allowed token was cut by the limit: end it at a sentence boundary."""
        from ragadapt.text import end_at_boundary

        if text and self.generator.count_tokens(text) >= self.config.max_new_tokens - 1:
            return end_at_boundary(text)
        return text

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
    def _stored_parts(self):
        """(name, how, what) per component to store: ("copy", saved dir) for one carried over unchanged,
        ("ref", name) for a generator known by a portable name, ("save", object) for one changed in memory."""
        for name in self.COMPONENTS:
            component, origin = getattr(self, name), self._origin.get(name)
            if origin is not None:
                yield name, "copy", origin
            elif name == "generator" and portable_name(self.generator_ref):
                yield name, "ref", self.generator_ref
            elif name == "generator" and self.generator_ref and Path(self.generator_ref).is_dir():
                yield name, "copy", Path(self.generator_ref)  # a local model directory: copied, so it travels
            elif component is None:
                continue
            elif hasattr(component, "save"):
                yield name, "save", component
            else:
                raise ValueError(f"the {name} {type(component).__name__} cannot be saved (it has no save method)")

    def save(self, directory: str | Path) -> Path:
        """Write the system atomically. A component loaded from a saved directory and not replaced since is
        copied from it unchanged (also when it was not loaded: `load(generator=False)` then `save` keeps the
        generator); a generator with a portable name (bundled alias, hub id) is stored by that name; anything
        changed in memory is saved from memory."""
        from ragadapt.components import component_kind

        directory = Path(directory)
        stored = list(self._stored_parts())  # raises before anything is written
        with atomic_dir(directory) as tmp:
            parts = {}
            for name, how, what in stored:
                if how == "ref":
                    parts[name] = {"ref": what}
                    continue
                if how == "copy":
                    shutil.copytree(what, tmp / name, copy_function=_link_or_copy)
                    if not (tmp / name / MANIFEST).exists():  # a plain transformers directory
                        write_manifest(tmp / name, "causal-lm")
                else:
                    what.save(tmp / name)
                parts[name] = {"dir": name, "kind": component_kind(tmp / name), "checksum": checksum(tmp / name)}
                if self.provenance.get(name):
                    parts[name]["provenance"] = self.provenance[name]
            write_manifest(tmp, KIND, config=asdict(self.config), components=parts)
        return directory

    @classmethod
    def load(cls, directory: str | Path, generator: bool | str | object = True, device: str | None = None,
             backend: str = "transformers", retriever: str | None = None, bridge: str | None = None,
             generator_dtype=None) -> RAGSystem:
        """Load a saved system; every file is checked against the manifest's checksums (cached; RAGADAPT_VERIFY=0
        skips). `generator`: True (as saved), False (retrieval only), a name or directory, or an object;
        `retriever` / `bridge`: a saved component directory to use instead of the system's own."""
        from ragadapt.components import load_component
        from ragadapt.generation import load_generator

        directory = Path(directory)
        m = read_manifest(directory, KIND)
        parts = m.get("components")
        if not isinstance(parts, dict) or "retriever" not in parts:
            raise ManifestError(f"{directory / MANIFEST}: no retriever listed under components")
        unknown = sorted(set(parts) - set(cls.COMPONENTS))
        if unknown:
            raise ManifestError(f"{directory / MANIFEST}: unknown component(s) {unknown}")
        try:
            config = RAGConfig.from_dict(m.get("config", {}))
        except DataFormatError as e:
            raise ManifestError(f"{directory / MANIFEST}: {e}") from e
        origins = {n: _inside(directory, p, n) for n, p in parts.items() if "dir" in p or n != "generator"}
        loaded = {}
        for name in ("retriever", "reranker", "bridge"):
            override = {"retriever": retriever, "bridge": bridge}.get(name)
            if override:
                from ragadapt.retrievers.remote import is_url

                loaded[name] = load_component(override, role=name, device=device)
                if is_url(str(override)):
                    origins.pop(name, None)  # served elsewhere: nothing on disk to carry over
                else:
                    origins[name] = Path(override)
            elif name in origins:
                loaded[name] = load_component(origins[name], role=name, device=device)
        gen_part = parts.get("generator", {})
        ref = gen_part.get("ref")
        gen = None
        if generator is True and gen_part:
            if backend == "transformers":
                gen = _generator_by_name(str(origins.get("generator", ref)), device, generator_dtype)
            else:
                gen = load_generator(str(origins.get("generator", ref)), backend=backend, device=device)
        elif isinstance(generator, (str, os.PathLike)):
            origins.pop("generator", None)
            ref = str(generator)
            gen = load_generator(ref, backend=backend, device=device) if backend != "transformers" else \
                _generator_by_name(ref, device, generator_dtype)
        elif generator not in (True, False, None):
            origins.pop("generator", None)
            gen, ref = generator, getattr(generator, "name", None)
        system = cls(loaded["retriever"], gen, reranker=loaded.get("reranker"), bridge=loaded.get("bridge"),
                     config=config, generator_ref=ref)
        system._origin = {n: p for n, p in origins.items() if getattr(system, n) is not None or n == "generator"}
        system.provenance = {n: p["provenance"] for n, p in parts.items() if p.get("provenance") and n in system._origin}
        return system


def _generator_by_name(name: str, device: str | None, dtype=None):
    """A generator from a saved directory (checked against its manifest when it has one) or a model name."""
    from ragadapt.components import component_kind, load_component
    from ragadapt.generation import TransformersGenerator

    if Path(name).is_dir() and component_kind(name) is not None:
        return load_component(name, role="generator", device=device, dtype=dtype)
    return TransformersGenerator.from_pretrained(name, device=device, dtype=dtype)


def describe(directory: str | Path) -> str:
    """`ragadapt system show`: the components of a saved system, where each came from, their checksums."""
    directory = Path(directory)
    m = read_manifest(directory, KIND, verify_hashes=False)
    lines = [f"system {directory}", "  config: " + ", ".join(f"{k}={v!r}" for k, v in m["config"].items()
                                                             if k != "system_prompt")]
    for name, part in m["components"].items():
        if "ref" in part:
            lines.append(f"  {name:<9} by name: {part['ref']}")
            continue
        prov = part.get("provenance") or {}
        origin = ", ".join(f"{k} {v}" for k, v in prov.items() if k in ("method", "run", "config_file", "base"))
        lines.append(f"  {name:<9} {part['dir']}/ kind {part.get('kind')} sha256 {str(part.get('checksum'))[:16]}"
                     + (f"  from {origin}" if origin else "  (as built)"))
        if isinstance(prov.get("merge"), dict):
            lines.append(f"            merged back at alpha {prov['merge'].get('alpha')} towards "
                         f"{prov['merge'].get('base_system')}'s (training.merge)")
        if name == "generator":
            from ragadapt.generation.abstain import rule_of

            rule = rule_of(directory / part["dir"])
            if rule is not None:
                lines.append(f"            abstains ({rule.reply!r}) where the reply's margin over its answer > "
                             f"{rule.threshold:.3f} (generation.abstain)")
    return "\n".join(lines)
