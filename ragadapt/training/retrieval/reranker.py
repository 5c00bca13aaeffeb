"""`ragadapt train reranker`: a cross-encoder for the reranker slot, distilled from the frozen LM.

Same supervision as REPLUG LSR: for each training question the retriever's top-k are scored by
log P_LM(answer | passage, question); the cross-encoder learns the LM's distribution over them with
sentence-transformers' ListNet loss (cross-entropy between softmax(LM / tau_lm) and softmax(scores)).
Retriever and generator stay frozen; the result is saved as a system with its reranker.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from torch import nn

from ragadapt.errors import DataFormatError
from ragadapt.training.retrieval.config import CE_DEFAULTS, RerankerConfig
from ragadapt.training.retrieval.data import CandidateStats, listwise_rows, load_or_build_system, routine_questions

log = logging.getLogger(__name__)


class ResidualListNetLoss(nn.Module):
    """ListNet on residual scores: score(q, d) = cross_encoder(q, d) + prior_weight * retriever_score(q, d), and the
    cross-entropy of softmax(score) against softmax(LM score / tau_lm) (REPLUG's KL, `lsr_loss`, at tau 1).
    Columns: query, docs, prior (the retriever's scores of docs), labels (LM scores / tau_lm). Written here because
    sentence-transformers' ListNetLoss has no per-pair offset to add to its logits."""

    def __init__(self, model, prior_weight: float):
        super().__init__()
        self.model, self.prior_weight = model, prior_weight

    def forward(self, inputs, labels, prompt: str | None = None, task: str | None = None):
        import torch
        from sentence_transformers.util import batch_to_device

        from ragadapt.training.retrieval.lsr import lsr_loss

        queries, docs, priors = inputs
        pairs = [(q, d) for q, ds in zip(queries, docs) for d in ds]
        tokens = batch_to_device(self.model.preprocess(pairs, prompt=prompt, task=task), self.model.device)
        logits = self.model(tokens)["scores"].view(-1).float()                         # [sum of k_i]
        k = max(len(ds) for ds in docs)
        mask = torch.zeros(len(docs), k, dtype=torch.bool, device=logits.device)       # [B, k]
        for i, ds in enumerate(docs):
            mask[i, : len(ds)] = True
        scores = torch.zeros(mask.shape, device=logits.device).masked_scatter(mask, logits)  # [B, k]
        prior = torch.tensor([list(p) + [0.0] * (k - len(p)) for p in priors], device=logits.device)
        lm = torch.tensor([list(map(float, y)) + [0.0] * (k - len(y)) for y in labels], device=logits.device)
        return lsr_loss(scores + self.prior_weight * prior, lm, tau_r=1.0, tau_lm=1.0, mask=mask)

    def get_config_dict(self) -> dict:
        return {"prior_weight": self.prior_weight}


def head_optimizer(reranker, args, head_lr: float):
    """AdamW with the scoring head at its own learning rate (the encoder at the trainer's): a zeroed head has to
    grow to the size of the corrections it makes, which at an encoder's learning rate takes far more steps than a
    CPU budget has (50 steps at 5e-5 left every dev-select ranking as the retriever's). The trainer's schedule
    scales both groups."""
    import torch

    head = list(reranker.head().parameters())
    ids = {id(p) for p in head}
    rest = [p for p in reranker.model.parameters() if p.requires_grad and id(p) not in ids]
    return torch.optim.AdamW([{"params": rest, "lr": args.learning_rate}, {"params": head, "lr": head_lr}],
                             lr=args.learning_rate, weight_decay=args.weight_decay)


def train_cross_encoder(reranker, rows: list[dict], cfg: RerankerConfig, out: Path, system=None) -> tuple[int, dict]:
    """Train `reranker` in place; with `system` and `cfg.dev_select`, keep the checkpoint whose reranking of
    `system`'s candidates gives the best dev-select recall. Returns (steps, the choice or {})."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import ListNetLoss

    from ragadapt.training.runner import METRICS, train_guarded, trl_args

    model = reranker.model
    model.requires_grad_(True)
    args = trl_args(CrossEncoderTrainingArguments, cfg, out / "checkpoints", CE_DEFAULTS)
    loss = ResidualListNetLoss(model, reranker.prior_weight) if reranker.prior_weight else ListNetLoss(model)
    optimizers = (head_optimizer(reranker, args, cfg.head_lr), None) if cfg.head_lr else (None, None)
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), loss=loss,
                                  optimizers=optimizers)
    from ragadapt.training.config import to_dict

    best = None
    if system is not None:
        from ragadapt.system import RAGSystem
        from ragadapt.training.best import keep_best_recall

        scored = RAGSystem(system.retriever, reranker=reranker, config=replace(system.config, k=cfg.answer_k))
        best = keep_best_recall(cfg, scored, out / "checkpoints")
    if best is not None:
        trainer.add_callback(best)
    step = train_guarded(trainer, cfg.resume, out / "checkpoints", out / METRICS, "reranker", to_dict(cfg))
    choice = best.restore(model, out / "checkpoints") if best is not None else {}
    model.eval()
    return step, choice


def _recall_without_reranker(system, cfg: RerankerConfig) -> float:
    """The retriever's own dev-select recall@answer_k: the bar a reranker has to clear to be worth passing on."""
    from ragadapt.system import RAGSystem
    from ragadapt.training.best import keep_best_recall

    plain = RAGSystem(system.retriever, config=replace(system.config, k=cfg.answer_k))
    return keep_best_recall(cfg, plain, cfg.output_dir).score_fn(None, None)


def train_reranker(cfg: RerankerConfig):
    from ragadapt.retrievers import CrossEncoderReranker
    from ragadapt.training.retrieval.evaluation import dev_sets, evaluate_stage, write_gated_report
    from ragadapt.training.retrieval.replug import load_scorer, make_scorer
    from ragadapt.system import RAGSystem
    from ragadapt.training.compose import SYSTEM, generator_source, write_system
    from ragadapt.training.runner import finish

    if cfg.k < 2:
        raise DataFormatError("k must be >= 2 (a distribution over one passage carries no signal)", field="k")
    out = Path(cfg.output_dir)
    system = load_or_build_system(cfg.system, cfg.corpus)
    input_config = system.config
    system.config = replace(system.config, fetch_k=cfg.k)
    train, test = routine_questions(cfg, system, out)
    dev = dev_sets(cfg.dev_set)
    source = generator_source(cfg.system, cfg.scorer)  # the system's own generator unless told otherwise
    generator = load_scorer(source, cfg.scorer_dtype)
    stages = {}
    if cfg.evaluate:
        stages["retriever top-k"] = evaluate_stage(system, generator, test, dev, cfg.answer_k, cfg.max_answer_eval,
                                                   out / "eval_before")
    start = time.perf_counter()
    scorer = make_scorer(generator, cfg, source)
    hits = system.retriever.search([e.question for e in train], cfg.k)
    scores = scorer.score([e.question for e in train], [e.answers[0] for e in train], hits)
    stats = CandidateStats()
    rows = listwise_rows(train, hits, scores, cfg.k, cfg.tau_lm, stats, prior=cfg.prior_weight > 0)
    log.info("reranker data: %s", stats.to_dict())
    if not rows:
        raise DataFormatError(f"no usable training question ({stats.to_dict()})")
    import torch

    torch.manual_seed(cfg.seed)  # the new scoring head is initialised here, before the trainer seeds
    reranker = CrossEncoderReranker.from_pretrained(cfg.model, max_length=cfg.max_length, prior_weight=cfg.prior_weight)
    if cfg.prior_weight:
        reranker.zero_head()  # step 0 ranks as the retriever does
    steps, choice = train_cross_encoder(reranker, rows, cfg, out, system)
    kept = True
    if choice:
        choice["without_reranker"] = _recall_without_reranker(system, cfg)
        best = choice["scores"][str(choice["best_step"])]
        # strictly better, or it only adds cost (a residual reranker at step 0 ranks exactly as the retriever)
        kept = best > choice["without_reranker"] or not cfg.require_gain
        choice["kept_in_system"] = kept
        if best <= choice["without_reranker"]:
            log.warning("the reranker's best dev-select recall@%d (%.3f, step %s) does not beat the retriever's own "
                        "(%.3f): %s", cfg.answer_k, best, choice["best_step"], choice["without_reranker"],
                        "the system is handed on without it (require_gain)" if not kept else "kept anyway")
    train_seconds = time.perf_counter() - start
    component_dir = reranker.save(out / "reranker")
    reranked = RAGSystem(system.retriever, reranker=reranker, bridge=system.bridge, config=system.config)
    if kept:
        final = write_system(system, out, "reranker", "reranker", cfg, component_dir=component_dir, module=reranker)
    else:
        system.config = input_config
        final = out / SYSTEM
        system.save(final)  # the input system, every component carried over
    extra = {"train_seconds": round(train_seconds, 1), "pairs_scored": scorer.scored, "data": stats.to_dict(),
             "scorer": source, **({"dev_select": choice} if choice else {})}
    if cfg.evaluate:
        label = "+ LM-distilled reranker" + ("" if kept else " (not kept: no better than the retriever on dev-select)")
        stages[label] = evaluate_stage(reranked, generator, test, dev, cfg.answer_k, cfg.max_answer_eval,
                                       out / "eval_after")
        print(write_gated_report(out, stages, extra, config=cfg))
    return finish(out, component_dir, steps, {"stages": stages, **extra}, system_dir=final)
