"""Early stopping by dev-select: the model in training is scored at its start (step 0) and at every checkpoint
save, and when training ends the best-scoring weights are put back, so `final/` is the best step, not the last.

Written as a callback because transformers' `load_best_model_at_end` chooses by the trainer's own evaluation
loop (a loss or a metric over logits of `eval_dataset`), while what we choose by is end to end: a RAG system
answering hand-written dev-select questions with the model being trained. Ties go to the later step: the dev
questions guard against a loss, and of two steps that answer them equally the later one holds more of what the
routine trains (a faithfulness the dev answers do not measure). Step 0 is kept only when every step answers worse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from transformers import TrainerCallback

log = logging.getLogger(__name__)

SCORES = "dev_select.jsonl"


@contextmanager
def served_forward(model):
    """The model's own forward while the dev questions are answered. Under mixed precision accelerate wraps a
    training model's forward in bf16 autocast (an instance attribute, the original kept as `_original_forward`);
    the checkpoint's weights are served in fp32 (the fp32 master weights are what is saved), so its dev answers
    are written without the wrapper, as `ragadapt eval` will write them."""
    wrapped, original = model.__dict__.get("forward"), model.__dict__.get("_original_forward")
    if wrapped is None or original is None:
        yield
        return
    model.forward = original
    try:
        yield
    finally:
        model.forward = wrapped


class BestCheckpoint(TrainerCallback):
    """`score(model, tokenizer) -> float` (higher is better) at step 0, at each save and at the last step; one
    JSON line per score in `path`. `restore(model)` loads the best step's trainable weights back."""

    def __init__(self, score: Callable, path: str | Path, label: str = "dev-select", tolerance: float | None = None):
        self.score_fn, self.path, self.label, self.tolerance = score, Path(path), label, tolerance
        self.scores: dict[int, float] = {}
        self._weights: dict[int, dict] = {}  # step -> trainable tensors; only the best so far is kept
        self._tokenizer = None

    # ---- scoring --------------------------------------------------------------------------------
    def _score(self, args, state, model, tokenizer) -> None:
        step = state.global_step
        if step in self.scores:
            return
        training = model.training
        model.eval()
        try:
            with served_forward(model):
                value = float(self.score_fn(model, tokenizer))
        finally:
            model.train(training)
        self.scores[step] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, self.label: value}) + "\n")
        if self.best_step == step:  # the best so far: its weights stay in memory
            self._weights = {step: {n: p.detach().to("cpu", copy=True) for n, p in model.named_parameters()
                                    if p.requires_grad}}
            if step > 0:  # checkpoint rotation (save_total_limit) spares the trainer's best checkpoint
                state.best_model_checkpoint = str(Path(args.output_dir) / f"checkpoint-{step}")
        log.info("%s at step %d: %.4f (best so far: step %d)", self.label, step, value, self.best_step)

    @property
    def best_step(self) -> int | None:
        """The best-scoring step (ties to the later); with a `tolerance`, the dev questions guard instead of choose:
        the last step scoring at most `tolerance` below step 0 (the most training they allow, for a skill they do
        not measure, as `merge_tolerance` does for a merge)."""
        if not self.scores:
            return None
        if self.tolerance is not None and 0 in self.scores:
            return max(s for s, v in self.scores.items() if v >= self.scores[0] - self.tolerance - 1e-9)
        return max(self.scores, key=lambda s: (self.scores[s], s))

    def _load_history(self) -> None:
        """Scores of an earlier process of this run (a resume): their weights are on disk, not in memory."""
        if not self.path.is_file():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                self.scores.setdefault(int(row["step"]), float(row[self.label]))

    # ---- trainer events -------------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        self._load_history()
        self._tokenizer = processing_class
        if state.is_world_process_zero and state.global_step == 0:
            self._score(args, state, model, processing_class)

    def on_save(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.is_world_process_zero:
            self._score(args, state, model, processing_class or self._tokenizer)

    def on_train_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        if state.is_world_process_zero:
            self._score(args, state, model, processing_class or self._tokenizer)

    # ---- the result -----------------------------------------------------------------------------
    def restore(self, model, checkpoints_dir: str | Path) -> dict:
        """Put the best step's trainable weights into `model`; returns {best_step, scores} for the manifest."""
        self._load_history()  # a rerun of a finished run trains nothing: its choice is in the scores file
        best = self.best_step
        if best is None:
            return {}
        current = max(self.scores)
        if best != current:
            weights = self._weights.get(best) or _checkpoint_weights(model, Path(checkpoints_dir) / f"checkpoint-{best}")
            if weights is None:
                log.warning("%s: the best step %d is not in memory or on disk; keeping the last step", self.label,
                            best)
                best = current
            else:
                params = dict(model.named_parameters())
                for name, tensor in weights.items():
                    params[name].data.copy_(tensor.to(params[name].device, params[name].dtype))
                log.info("%s: kept step %d (%.4f) over the last step %d (%.4f)", self.label, best,
                         self.scores[best], current, self.scores[current])
        return {"best_step": best, "metric": self.label, "scores": {str(s): v for s, v in sorted(self.scores.items())}}


def _checkpoint_weights(model, checkpoint: Path) -> dict | None:
    """Trainable tensors of `model` read from a saved checkpoint (full weights or PEFT adapters). The names in
    the file may lack the wrapper's prefix (a sentence-transformers model saves its inner transformer's
    `embeddings.…` where the module holds `0.auto_model.embeddings.…`): a stored name that is a dotted suffix
    of the parameter's name matches."""
    from safetensors.torch import load_file

    files = [checkpoint / "model.safetensors", checkpoint / "adapter_model.safetensors"]
    found = next((f for f in files if f.is_file()), None)
    if found is None:
        return None
    stored = load_file(str(found))
    out = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exact = [k for k in (name, name.replace(".default", "")) if k in stored]
        parts = name.split(".")
        suffixes = [".".join(parts[i:]) for i in range(1, len(parts)) if ".".join(parts[i:]) in stored]
        key = (exact or suffixes or [None])[0]
        if key is None or stored[key].shape != p.shape:
            return None
        out[name] = stored[key]
    return out


def answer_scorer(system_dir: str | Path, examples, metric: str = "contains", max_new_tokens: int | None = None):
    """score(model, tokenizer): the mean `metric` of the system in `system_dir` answering `examples` with `model`
    as its generator (its retriever, reranker, bridge, prompt and `max_new_tokens` unchanged unless told)."""
    from dataclasses import replace

    from ragadapt.eval.runner import evaluate
    from ragadapt.generation.hf import TransformersGenerator
    from ragadapt.system import RAGSystem

    system = RAGSystem.load(system_dir, generator=False)
    config = replace(system.config, max_new_tokens=max_new_tokens or system.config.max_new_tokens)

    def score(model, tokenizer) -> float:
        rag = RAGSystem(system.retriever, TransformersGenerator(model, tokenizer), reranker=system.reranker,
                        bridge=system.bridge, config=config)
        return evaluate(rag, examples, ks=(config.k,), show_progress=False)[metric]

    return score


def retrieval_scorer(system, examples, k: int):
    """score(model, tokenizer): recall@k of `system` on `examples`, retrieval only. For the retriever-side
    routines, whose model in training is the system's own (its query encoder, its reranker), so the system is
    scored as it stands; recall needs no generation, so every dev-select question is cheap to score."""
    from ragadapt.eval.runner import evaluate

    def score(model, tokenizer) -> float:
        return evaluate(system, examples, ks=(k,), retrieval_only=True, show_progress=False)[f"recall@{k}"]

    return score


def keep_best_recall(cfg, system, output_dir: str | Path):
    """The early-stopping callback of a retriever-side routine (`cfg.dev_select` set): recall@answer_k of
    `system`, whose retriever or reranker is the model in training, on the dev questions with gold passages."""
    if not cfg.dev_select:
        return None
    from ragadapt.training.retrieval.evaluation import dev_examples

    examples = [e for e in dev_examples(cfg.dev_select) if e.gold_doc_ids][: cfg.dev_select_max]
    if not examples:
        from ragadapt.errors import DataFormatError

        raise DataFormatError(f"dev_select {cfg.dev_select!r} has no question with gold_doc_ids to score recall by",
                              field="dev_select")
    return BestCheckpoint(retrieval_scorer(system, examples, cfg.answer_k), Path(output_dir) / SCORES,
                          label=f"{cfg.dev_select} recall@{cfg.answer_k}")


def kept_start(model_dir) -> bool:
    """Dev-select early stopping kept step 0: `model_dir` (a run's final/) holds the weights it started from."""
    manifest = Path(model_dir) / "manifest.json"
    return manifest.is_file() and (json.loads(manifest.read_text()).get("dev_select") or {}).get("best_step") == 0
