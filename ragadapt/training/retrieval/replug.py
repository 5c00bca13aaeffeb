"""`ragadapt train retriever-replug`: align a dense retriever with a frozen LM (REPLUG LSR), or train the
contrastive baseline on the same questions.

Each round: retrieve the top-k for every training question with the *current* retriever (so the
candidates are the hard negatives it now confuses), LM-score the (passage, question) pairs not in the
cache, train one pass with the sentence-transformers trainer, and, when the document encoder changed,
re-embed the index (synchronously, at the end of the round). Finished rounds are saved and reused.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

from ragadapt.errors import DataFormatError
from ragadapt.training.retrieval.config import ST_DEFAULTS, ReplugConfig, RetrieverDataConfig
from ragadapt.training.retrieval.data import (
    CandidateStats, contrastive_rows, load_or_build_system, lsr_rows, routine_questions,
)

log = logging.getLogger(__name__)

ROUND_RETRIEVER = "retriever"


def load_scorer(name: str, dtype: str = "auto"):
    """A frozen generator for LM scores (and the end-to-end evaluation)."""
    import torch

    from ragadapt.device import default_device, scoring_dtype
    from ragadapt.generation import TransformersGenerator

    device = default_device()
    choice = {"auto": scoring_dtype(device), "bf16": torch.bfloat16, "fp32": torch.float32}
    if dtype not in choice:
        raise DataFormatError(f"scorer_dtype must be auto, bf16 or fp32, got {dtype!r}", field="scorer_dtype")
    generator = TransformersGenerator.from_pretrained(name, dtype=choice[dtype])
    generator.module.requires_grad_(False)
    return generator


def make_scorer(generator, cfg: RetrieverDataConfig, source: str, cache_name: str | None = None):
    """An LMScorer whose cache file is named after the scoring LM `source` (shareable through `score_cache`)."""
    from ragadapt.prompts import RAGPrompt
    from ragadapt.training.compose import generator_tag
    from ragadapt.training.retrieval.scoring import LMScorer

    import hashlib

    prompt = RAGPrompt(max_prompt_tokens=cfg.max_prompt_tokens)
    # a score depends on the LM (its checksum), its dtype and the prompt: all three name the cache file (the pair
    # key holds the question, answer and passage text)
    prompt_tag = hashlib.sha1(f"{prompt.system}\x1f{prompt.max_prompt_tokens}".encode()).hexdigest()[:8]
    name = cache_name or f"{generator_tag(source)}-{cfg.scorer_dtype}-{cfg.max_prompt_tokens}-{prompt_tag}"
    directory = Path(cfg.score_cache) if cfg.score_cache else Path(cfg.output_dir) / "lm_scores"
    return LMScorer(generator, prompt, cache=directory / f"{name}.jsonl", batch_size=cfg.score_batch_size)


def _check(cfg: ReplugConfig) -> None:
    if cfg.loss not in ("lsr", "contrastive"):
        raise DataFormatError(f"loss must be lsr or contrastive, got {cfg.loss!r}", field="loss")
    if cfg.encoders not in ("query", "both"):
        raise DataFormatError(f"encoders must be query or both, got {cfg.encoders!r}", field="encoders")
    if cfg.loss == "contrastive" and cfg.encoders == "query":
        raise DataFormatError("the contrastive baseline (MultipleNegativesRankingLoss) trains the shared encoder: "
                              "set encoders=both", field="encoders")
    if cfg.k < 2:
        raise DataFormatError("k must be >= 2 (a distribution over one passage carries no signal)", field="k")


def train_round(retriever, examples, cfg: ReplugConfig, scorer, round_dir: Path, stage: str,
                stats: CandidateStats) -> tuple[int, dict]:
    """One refresh round on `retriever` (changed in place); returns (the steps trained, the dev-select choice
    or {}). Early stopping scores the query encoder in training against the index as built, so it runs for
    encoders=query only (with both, every checkpoint would need the whole index re-embedded)."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from ragadapt.training.config import to_dict
    from ragadapt.training.retrieval.lsr import LSRLoss
    from ragadapt.training.runner import METRICS, train_guarded, trl_args

    embedder = retriever.embedder
    if cfg.encoders == "query":
        embedder.split_query_encoder()
    model = embedder.query_model
    hits = retriever.search([e.question for e in examples], cfg.k)
    if cfg.loss == "lsr":
        scores = scorer.score([e.question for e in examples], [e.answers[0] for e in examples], hits)
        rows = lsr_rows(retriever, examples, hits, scores, cfg.k, cfg.encoders == "both", stats)
        doc_vectors = torch.from_numpy(retriever.index.vectors()) if cfg.encoders == "query" else None
        loss = LSRLoss(model, cfg.tau_r, cfg.tau_lm, doc_vectors=doc_vectors)
    else:
        rows = contrastive_rows(retriever, examples, hits, stats)
        loss = MultipleNegativesRankingLoss(model)
    log.info("%s: %s", stage, stats.to_dict())
    if not rows:
        raise DataFormatError(f"no usable training question in {stage} ({stats.to_dict()})")
    model.requires_grad_(True)
    args = trl_args(SentenceTransformerTrainingArguments, cfg, round_dir, ST_DEFAULTS)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), loss=loss)
    best = None
    if cfg.encoders == "query":
        from ragadapt.system import RAGConfig, RAGSystem
        from ragadapt.training.best import keep_best_recall

        best = keep_best_recall(cfg, RAGSystem(retriever, config=RAGConfig(k=cfg.answer_k)), round_dir)
    elif cfg.dev_select:
        log.info("%s: dev_select skipped with encoders=both (the index is re-embedded only after the round)", stage)
    if best is not None:
        trainer.add_callback(best)
    step = train_guarded(trainer, cfg.resume, round_dir, Path(cfg.output_dir) / METRICS, stage,
                         {**to_dict(cfg), "round": stage})
    choice = best.restore(model, round_dir) if best is not None else {}
    model.eval()
    embedder.modified = True
    dim = int(model.get_embedding_dimension())
    if cfg.encoders == "query" and dim != retriever.index.dim:
        raise ValueError(f"{stage}: the trained query encoder makes {dim}-d vectors but the index holds "
                         f"{retriever.index.dim}-d ones; train with encoders=both (re-embeds the index)")
    if cfg.encoders == "both":
        start = time.perf_counter()
        retriever.reembed(show_progress=True)
        log.info("%s: index re-embedded in %.1f s", stage, time.perf_counter() - start)
    return step, choice


def align_retriever(retriever, examples, cfg: ReplugConfig, scorer, out: Path, prefix: str = "round") -> tuple:
    """All rounds; a finished round (its saved retriever) is loaded instead of retrained."""
    from ragadapt.retrievers import DenseRetriever
    from ragadapt.training import fingerprint
    from ragadapt.training.config import to_dict

    steps, stats = 0, {}
    for r in range(cfg.rounds):
        round_dir = out / f"{prefix}{r}"
        saved = round_dir / ROUND_RETRIEVER
        same = fingerprint.matches(round_dir, fingerprint.make({**to_dict(cfg), "round": round_dir.name}))
        if cfg.resume != "never" and (saved / "manifest.json").exists() and same:
            log.info("%s: finished earlier, loading %s", round_dir.name, saved)
            retriever = DenseRetriever.load(saved)
            continue
        round_stats = CandidateStats()
        step, choice = train_round(retriever, examples, cfg, scorer, round_dir, round_dir.name, round_stats)
        steps += step
        stats[round_dir.name] = {**round_stats.to_dict(), **({"dev_select": choice} if choice else {})}
        retriever.save(saved)
    return retriever, steps, stats


def kept_start_in_every_round(stats: dict, rounds: int) -> bool:
    """Dev-select kept step 0 in every round trained now: the retriever holds the weights it started from, so the
    routine hands its input's retriever on as it came in (same checksum) rather than a re-saved copy."""
    return len(stats) == rounds and all((s.get("dev_select") or {}).get("best_step") == 0 for s in stats.values())


def train_replug(cfg: ReplugConfig):
    from ragadapt.training.retrieval.evaluation import dev_sets, evaluate_stage, write_gated_report
    from ragadapt.training.runner import finish

    from ragadapt.training.compose import SYSTEM, generator_source, write_system

    _check(cfg)
    out = Path(cfg.output_dir)
    system = load_or_build_system(cfg.system, cfg.corpus)
    train, test = routine_questions(cfg, system, out)
    dev = dev_sets(cfg.dev_set)
    source = generator_source(cfg.system, cfg.scorer)  # the system's own generator unless told otherwise
    generator = load_scorer(source, cfg.scorer_dtype)
    scorer = make_scorer(generator, cfg, source)
    stages = {}
    if cfg.evaluate:
        stages["before"] = evaluate_stage(system, generator, test, dev, cfg.answer_k, cfg.max_answer_eval, out / "eval_before")
    start = time.perf_counter()
    system.retriever, steps, stats = align_retriever(system.retriever, train, cfg, scorer, out)
    train_seconds = time.perf_counter() - start
    unchanged = bool(cfg.system) and kept_start_in_every_round(stats, cfg.rounds)
    if unchanged:
        log.info("retriever-replug: dev-select kept step 0; the system keeps its retriever")
        system = load_or_build_system(cfg.system, cfg.corpus)
        final = out / SYSTEM
        system.save(final)
    else:
        final = write_system(system, out, "retriever", "retriever-replug", cfg, module=system.retriever)
    extra = {"train_seconds": round(train_seconds, 1), "pairs_scored": scorer.scored, "rounds": stats,
             "loss": cfg.loss, "encoders": cfg.encoders, "scorer": source}
    if cfg.evaluate:
        after = f"after ({cfg.loss}, {cfg.encoders})"
        stages[after] = copy.deepcopy(stages["before"]) if unchanged else evaluate_stage(  # the same system
            system, generator, test, dev, cfg.answer_k, cfg.max_answer_eval, out / "eval_after")
        print(write_gated_report(out, stages, extra, config=cfg))
    result = finish(out, final / "retriever", steps, {"stages": stages, **extra}, system_dir=final)
    log.info("trained retriever in %.0f s; system saved to %s", train_seconds, final)
    return result
