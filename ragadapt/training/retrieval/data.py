"""Questions and candidates for retriever alignment: QA splits from the system's own corpus, the
retriever's current top-k per question, and the training rows of each loss."""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from ragadapt.atomic import atomic_write_text
from ragadapt.errors import DataFormatError
from ragadapt.jsonl import write_jsonl
from ragadapt.types import Hit, QAExample

log = logging.getLogger(__name__)


@dataclass
class CandidateStats:
    """What happened to each training question (skips are counted, never silent)."""

    questions: int = 0
    used: int = 0
    too_few_candidates: int = 0  # < 2 hits: a softmax over one passage carries no signal
    short_lists: int = 0  # fewer than k hits: padded and masked
    no_signal: int = 0  # every candidate got the same LM score
    no_gold_passage: int = 0  # contrastive only: the gold document is not in the index

    def to_dict(self) -> dict:
        return asdict(self)


def load_or_build_system(system_dir: str, corpus: str, dense_only: bool = True):
    """The RAG system to adapt (ragadapt.training.compose.input_system: generator carried, not loaded).
    `dense_only`: the routine trains the dense retriever, so other retrievers are refused."""
    from ragadapt.retrievers import DenseRetriever
    from ragadapt.training.compose import input_system

    system = input_system(system_dir, corpus)
    if dense_only and not isinstance(system.retriever, DenseRetriever):
        raise ValueError(f"{system_dir}: retriever alignment trains a dense retriever; this system's retriever "
                         f"is {type(system.retriever).__name__}")
    return system


def _write(path: Path, examples: list[QAExample]) -> None:
    write_jsonl(path, (e.to_dict() for e in examples))


def routine_questions(cfg, system, out_dir: Path) -> tuple[list[QAExample], list[QAExample]]:
    """A routine's train/test questions from its config (recipe, max_train, max_test, test_fraction, seed) over the
    system's passages; a `paraphrase` style in the recipe is written by the system's own generator (or `scorer`)."""
    from ragadapt.corpora.qa_mix import wants_paraphrase

    source = None
    if wants_paraphrase(cfg.recipe):
        from ragadapt.training.compose import generator_source

        source = getattr(cfg, "scorer", None) or generator_source(cfg.system)
    return qa_splits(system.retriever, cfg.recipe, out_dir, cfg.max_train, cfg.max_test, cfg.test_fraction, cfg.seed,
                     paraphraser=source)


def qa_splits(retriever, recipe: str, out_dir: Path, max_train: int, max_test: int, test_fraction: float,
              seed: int, paraphraser: str | None = None) -> tuple[list[QAExample], list[QAExample]]:
    """Train/test questions, held out by document; written to out_dir/data and reused when present.
    `paraphraser`: the generator (name or directory) that writes the mixture's paraphrase style."""
    from ragadapt.corpora.qa_recipes import RECIPES, RecipeStats, split_by_document
    from ragadapt.eval.data import load_qa_jsonl

    train_path, test_path = out_dir / "data" / "train.jsonl", out_dir / "data" / "test.jsonl"
    params_path = out_dir / "data" / "params.json"
    params = {"recipe": recipe, "max_train": max_train, "max_test": max_test, "test_fraction": test_fraction,
              "seed": seed, "passages": len(retriever.store.passages), "decontaminated": None}
    if paraphraser:
        from ragadapt.training.compose import generator_tag

        params["paraphraser"] = generator_tag(paraphraser)
    saved = json.loads(params_path.read_text()) if params_path.exists() else {}
    if train_path.exists() and test_path.exists() and \
            {**saved, "decontaminated": None} == params and saved.get("decontaminated") is not None:
        return load_qa_jsonl(train_path), load_qa_jsonl(test_path)
    if recipe.endswith(".jsonl"):
        examples = load_qa_jsonl(recipe)
        docs = sorted({d for e in examples for d in e.gold_doc_ids} or {e.id for e in examples})
        random.Random(seed).shuffle(docs)
        held = set(docs[: max(1, round(len(docs) * test_fraction))])
        test = [e for e in examples if set(e.gold_doc_ids or [e.id]) & held]
        train = [e for e in examples if not set(e.gold_doc_ids or [e.id]) & held]
    elif recipe == "mix" or recipe.startswith("mix:"):
        from ragadapt.corpora.qa_mix import mixed_qa

        generator = None
        if paraphraser:
            from ragadapt.generation import TransformersGenerator

            generator = TransformersGenerator.from_pretrained(paraphraser)
        triples, _ = mixed_qa(retriever.store.passages, recipe, seed, generator=generator,
                              n=int((max_train + max_test) / max(0.05, 1 - test_fraction)))
        train_t, test_t = split_by_document(triples, test_fraction, seed)
        train, test = ([QAExample(t.question, [t.answer], id=t.id, gold_doc_ids=t.doc_ids, meta={"style": t.kind})
                        for t in ts] for ts in (train_t, test_t))
    elif all(r.strip() in RECIPES for r in recipe.split(",")):
        stats = RecipeStats()
        triples = [t for r in recipe.split(",") for t in RECIPES[r.strip()](retriever.store.passages, stats)]
        train_t, test_t = split_by_document(triples, test_fraction, seed)
        train, test = ([QAExample(t.question, [t.answer], id=t.id, gold_doc_ids=t.doc_ids) for t in ts]
                       for ts in (train_t, test_t))
    else:
        raise DataFormatError(f"unknown recipe {recipe!r}: mix (the default mixture of styles), mix:style=weight,... "
                              "(entity, template, facts, two-hop, comparison, paraphrase), entity, template, two-hop, "
                              "comparison, a comma-separated list (entity,template) or a .jsonl file", field="recipe")
    from ragadapt.corpora.wiki_qa import decontaminate

    train, removed = decontaminate(train, lambda e: e.gold_doc_ids or [e.id])
    test, _ = decontaminate(test, lambda e: e.gold_doc_ids or [e.id], "held-out questions")
    params["decontaminated"] = removed
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(test)
    train, test = train[:max_train], test[:max_test]
    if not train:
        raise DataFormatError(f"recipe {recipe!r} gave no training questions", field="recipe")
    _write(train_path, train)
    _write(test_path, test)
    atomic_write_text(params_path, json.dumps(params))  # last: the split is reused only when complete
    log.info("questions: %d train, %d held out (documents held out: %.0f%%)", len(train), len(test),
             100 * test_fraction)
    return train, test


def usable(examples: list[QAExample], hits: list[list[Hit]], lm_scores: list[list[float]], k: int,
           stats: CandidateStats):
    """(example, top-k hits, their LM scores) for questions that carry a signal; skips are counted."""
    for ex, hs, scores in zip(examples, hits, lm_scores):
        stats.questions += 1
        hs, scores = hs[:k], scores[:k]
        if len(hs) < 2:
            stats.too_few_candidates += 1
        elif max(scores) - min(scores) < 1e-6:
            stats.no_signal += 1
        else:
            stats.short_lists += len(hs) < k
            stats.used += 1
            yield ex, hs, scores


def lsr_rows(retriever, examples: list[QAExample], hits: list[list[Hit]], lm_scores: list[list[float]], k: int,
             with_texts: bool, stats: CandidateStats) -> list[dict]:
    """Rows for LSRLoss: query, label [[LM scores], [index rows]] padded with NaN to k, p0..p{k-1}."""
    rows = []
    for ex, hs, scores in usable(examples, hits, lm_scores, k, stats):
        pad = k - len(hs)
        index_rows = [float(r) for r in retriever.store.rows([h.passage.id for h in hs])]
        row = {"query": retriever.embedder.query_prefix + ex.question,
               "label": [list(scores) + [math.nan] * pad, index_rows + [-1.0] * pad]}
        if with_texts:
            docs = [retriever.embedder.doc_prefix + h.passage.contents for h in hs] + [""] * pad
            row.update({f"p{i}": d for i, d in enumerate(docs)})
        rows.append(row)
    return rows


def listwise_rows(examples: list[QAExample], hits: list[list[Hit]], lm_scores: list[list[float]], k: int,
                  tau_lm: float, stats: CandidateStats, prior: bool = False) -> list[dict]:
    """Rows for a listwise cross-encoder loss (ListNet): query, its candidates, LM scores / tau_lm; with `prior`,
    the retriever's scores of the candidates too (a residual reranker's input)."""
    rows = []
    for ex, hs, scores in usable(examples, hits, lm_scores, k, stats):
        row = {"query": ex.question, "docs": [h.passage.contents for h in hs], "labels": [x / tau_lm for x in scores]}
        if prior:
            row["prior"] = [h.score for h in hs]
        rows.append(row)
    return rows


def contrastive_rows(retriever, examples: list[QAExample], hits: list[list[Hit]],
                     stats: CandidateStats) -> list[dict]:
    """(anchor, positive, negative): the gold document's passage that holds the answer (else its first),
    and the highest-ranked retrieved passage of another document."""
    by_doc: dict[str, list] = {}
    for p in retriever.store.passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    rows = []
    q_prefix, d_prefix = retriever.embedder.query_prefix, retriever.embedder.doc_prefix
    for ex, hs in zip(examples, hits):
        stats.questions += 1
        gold = [p for d in ex.gold_doc_ids for p in by_doc.get(d, [])]
        if not gold:
            stats.no_gold_passage += 1
            continue
        positive = next((p for p in gold if any(a in p.text for a in ex.answers)), gold[0])
        golds = set(ex.gold_doc_ids)
        negative = next((h.passage for h in hs if h.passage.doc_id not in golds), None)
        if negative is None:
            stats.too_few_candidates += 1
            continue
        rows.append({"anchor": q_prefix + ex.question, "positive": d_prefix + positive.contents,
                     "negative": d_prefix + negative.contents})
        stats.used += 1
    return rows
