"""`ragadapt train ra-dit`: retrieval-augmented dual instruction tuning (Lin et al., 2023).

LM-ft  the generator is fine-tuned to answer from retrieved passages: every training question is paired
       with each of its top-`lm_k` passages (one example per passage, loss on the answer only), so it
       learns to use a relevant passage and to fall back on what it knows when the passage is noise.
R-ft   the retriever is aligned to the *tuned* LM with LSR (the REPLUG rounds of `retriever-replug`).

`sequential` runs LM-ft then R-ft; `alternating` runs `cycles` x (LM-ft on the next slice of questions,
R-ft), each side seeing the other's latest version. The system after every stage is saved under
OUTPUT_DIR/stageN-NAME/system and evaluated; a final row evaluates the tuned retriever with the base
generator, so the two contributions read separately.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from ragadapt.errors import DataFormatError
from ragadapt.jsonl import write_jsonl
from ragadapt.training.retrieval.config import LM_FT_DEFAULTS, RADITConfig
from ragadapt.training.retrieval.data import load_or_build_system, routine_questions
from ragadapt.types import Hit

log = logging.getLogger(__name__)


def lm_ft_rows(retriever, examples, k: int, prompt, count_tokens, own_answers=None) -> list[dict]:
    """One chat example per (question, top-k passage): prompt as at inference time, answer as target. With
    `own_answers` (the starting generator and its answer length), a pair the generator already answers right keeps
    its own served answer as the target (the contextual routine's `targets: own`): it is taught what it gets
    wrong and keeps its phrasing elsewhere, so it moves less."""
    from ragadapt.corpora.contexts import ContextExample

    hits = retriever.search([e.question for e in examples], k)
    pairs = [ContextExample(kind="clean" if h.passage.doc_id in (ex.gold_doc_ids or ()) else "noisy",
                            question=ex.question, passages=[h.passage], target=ex.answers[0], answers=list(ex.answers),
                            original=ex.answers[0]) for ex, hs in zip(examples, hits) for h in hs]
    if own_answers is not None:
        from ragadapt.training.contextual import own_answers as answer, own_targets

        generator, max_new_tokens = own_answers
        pairs, kept = own_targets(pairs, answer(pairs, generator, prompt, max_new_tokens))
        log.info("LM-ft targets: the generator's own answer kept on %s of %d pairs (the gold span elsewhere)",
                 kept, len(pairs))
    return [{"messages": prompt.messages(p.question, [Hit(p.passages[0], 0.0, 0)], count_tokens)
             + [{"role": "assistant", "content": p.target}]} for p in pairs]


def lm_ft_data(system, examples, cfg: RADITConfig, model: str, generator, system_dir: str, data_dir: Path) -> Path:
    """data_dir/train.jsonl: the LM-ft rows, reused when the questions, the system and the generator that made
    them are the same (its fingerprint): own targets cost one generation per pair, which a rerun whose LM-ft
    finished should not pay again before it can tell that the run is reusable."""
    import hashlib
    import json

    from ragadapt.atomic import atomic_write_text
    from ragadapt.generation.base import as_served
    from ragadapt.prompts import RAGPrompt
    from ragadapt.training import fingerprint

    path, stamp = data_dir / "train.jsonl", data_dir / fingerprint.FINGERPRINT
    # own targets are the generator's answers as served (the scorer may be bf16): the replies the system gives
    answerer = as_served(generator) if cfg.lm_targets == "own" else None
    questions = json.dumps([[e.question, list(e.answers), list(e.gold_doc_ids or ())] for e in examples])
    made_by = fingerprint.make({"model": model, "system": system_dir, "lm_k": cfg.lm_k, "lm_targets": cfg.lm_targets,
                                "lm_max_length": cfg.lm_max_length,
                                "answer_dtype": str(getattr(getattr(answerer, "module", None), "dtype", None)),
                                "questions": hashlib.sha256(questions.encode()).hexdigest()})
    if cfg.resume != "never" and path.is_file() and fingerprint.matches(data_dir, made_by):
        log.info("%s: reusing %s (made from the same questions, system and generator)", data_dir.parent.name, path)
        return path
    prompt = RAGPrompt(system=system.config.system_prompt, max_prompt_tokens=cfg.lm_max_length - 32)
    own = (answerer, system.config.max_new_tokens) if answerer is not None else None
    rows = lm_ft_rows(system.retriever, examples, cfg.lm_k, prompt, generator.count_tokens, own)
    stamp.unlink(missing_ok=True)  # a kill before the new stamp leaves no stamp, never a stale one over new rows
    write_jsonl(path, rows, only_if_changed=True)
    atomic_write_text(stamp, json.dumps(made_by, indent=2, default=str))
    return path


def lm_ft(system, examples, cfg: RADITConfig, model: str, out: Path, generator, system_dir: str) -> str:
    """SFT the generator on retrieval-augmented examples; returns the trained model's directory. With
    `lm_dev_select`, the system in `system_dir` answers those questions with the model in training at step 0 and
    at every checkpoint and the best step is kept (the start included: an LM-ft that only loses hands on the
    generator it started from). A finished LM-ft is reused only when its data and settings are the ones it was
    trained with (its fingerprint)."""
    from ragadapt.training import fingerprint
    from ragadapt.training.config import LMConfig, Source, to_dict
    from ragadapt.training.lm import train_lm

    if cfg.lm_targets not in ("own", "span"):
        raise DataFormatError(f"lm_targets must be own or span, got {cfg.lm_targets!r}", field="lm_targets")
    data = lm_ft_data(system, examples, cfg, model, generator, system_dir, out / "data")
    lm_cfg = LMConfig(model=model, output_dir=str(out), data=[Source(path=str(data))], max_length=cfg.lm_max_length,
                      freeze=list(cfg.lm_freeze), seed=cfg.seed, resume=cfg.resume,
                      trainer={**LM_FT_DEFAULTS, **cfg.lm_trainer}, system=system_dir,
                      dev_select=cfg.lm_dev_select, dev_select_max=cfg.lm_dev_select_max)
    final = out / "final"
    if cfg.resume != "never" and (final / "manifest.json").exists() and \
            fingerprint.matches(out, fingerprint.make(to_dict(lm_cfg))):
        log.info("%s: LM-ft finished earlier with the same data and settings; reusing %s", out.name, final)
        return str(final)
    rows = sum(1 for line in data.open(encoding="utf-8") if line.strip())
    log.info("%s: %d examples (%d questions x top-%d passages)", out.name, rows, len(examples), cfg.lm_k)
    return str(train_lm(lm_cfg, "sft").final_dir)


def _plan(cfg: RADITConfig) -> list[str]:
    if cfg.schedule not in ("sequential", "alternating"):
        raise DataFormatError(f"schedule must be sequential or alternating, got {cfg.schedule!r}", field="schedule")
    if not (cfg.train_generator or cfg.train_retriever):
        raise DataFormatError("nothing to train: train_generator and train_retriever are both false")
    cycles = 1 if cfg.schedule == "sequential" else max(1, cfg.cycles)
    steps = []
    for _ in range(cycles):
        steps += (["lm-ft"] if cfg.train_generator else []) + (["r-ft"] if cfg.train_retriever else [])
    return steps


def train_ra_dit(cfg: RADITConfig):
    from ragadapt.training.best import kept_start
    from ragadapt.training.compose import SYSTEM, generator_source, input_system, write_system
    from ragadapt.training.retrieval.evaluation import dev_sets, evaluate_stage, write_gated_report
    from ragadapt.training.retrieval.replug import (_check, align_retriever, kept_start_in_every_round, load_scorer,
                                                    make_scorer)
    from ragadapt.training.runner import finish

    _check(cfg)
    plan = _plan(cfg)
    out = Path(cfg.output_dir)
    system = load_or_build_system(cfg.system, cfg.corpus)
    train, test = routine_questions(cfg, system, out)
    dev = dev_sets(cfg.dev_set)
    base_name = cfg.generator or generator_source(cfg.system, cfg.scorer)  # the system's own generator by default
    base = generator = load_scorer(base_name, cfg.scorer_dtype)
    model_dir, stages, stats = base_name, {}, {}

    def evaluate(name: str, gen, same_as: str | None = None) -> None:
        if cfg.evaluate and same_as in stages:  # nothing changed since that row: the same greedy answers
            stages[name] = copy.deepcopy(stages[same_as])
            log.info("%s: the system of %r unchanged; its results are reused", name, same_as)
        elif cfg.evaluate:
            stages[name] = evaluate_stage(system, gen, test, dev, cfg.answer_k, cfg.max_answer_eval,
                                          out / f"eval-{name.replace(' ', '_').replace('+', '')}")

    def hand_on(stage_dir: Path, row: str, component: str) -> Path:
        """Dev-select kept the stage's start: its system is its input, and so are its results."""
        log.info("%s: dev-select kept step 0; the system keeps its %s", stage_dir.name, component)
        system.save(stage_dir / SYSTEM)
        evaluate(row, generator, same_as=last_row)
        return stage_dir / SYSTEM

    evaluate("before", base)
    lm_questions = train[: cfg.lm_max_train]
    n_lm = plan.count("lm-ft")
    slices = [lm_questions[i::n_lm] for i in range(n_lm)] if cfg.schedule == "alternating" else [lm_questions]
    last_system, component, last_row = out, "generator", "before"
    for n, step in enumerate(plan, start=1):
        stage_dir = out / f"stage{n}-{step}"
        row = f"+ {step} ({n})"
        if step == "lm-ft":
            tuned = lm_ft(system, slices.pop(0), cfg, model_dir, stage_dir, generator,
                          str(cfg.system if last_system == out else last_system))
            component = "generator"
            if kept_start(tuned):  # dev-select kept step 0: the generator is handed on as it came in
                last_system, last_row = hand_on(stage_dir, row, "generator"), row
                continue
            model_dir = tuned
            generator = load_scorer(model_dir, cfg.scorer_dtype)
            # the system stores the tuned weights as trained (full precision)
            last_system = write_system(system, stage_dir, component, "ra-dit lm-ft", cfg, component_dir=Path(model_dir),
                                       run=out)
        else:
            scorer = make_scorer(generator, cfg, str(model_dir), f"stage{n}-scorer" if generator is not base else None)
            system.retriever, _, stats[stage_dir.name] = align_retriever(system.retriever, train, cfg, scorer,
                                                                         stage_dir)
            component = "retriever"
            if kept_start_in_every_round(stats[stage_dir.name], cfg.rounds):  # handed on as it came in
                system.retriever = load_or_build_system(str(cfg.system if last_system == out else last_system),
                                                        cfg.corpus).retriever
                last_system, last_row = hand_on(stage_dir, row, "retriever"), row
                continue
            last_system = write_system(system, stage_dir, component, "ra-dit r-ft", cfg, module=system.retriever,
                                       run=out)
        evaluate(row, generator)
        last_row = row
    if cfg.train_generator and cfg.train_retriever:
        evaluate("R-ft retriever, base generator", base, same_as=last_row if generator is base else None)
    if cfg.evaluate:
        print(write_gated_report(out, stages, {"plan": plan, "rounds": stats, "scorer": base_name}, config=cfg))
    final = out / SYSTEM  # the contract's OUTPUT_DIR/system: the last stage's, its files copied as they are
    input_system(str(cfg.system if last_system == out else last_system), cfg.corpus).save(final)
    return finish(out, final / component, len(plan), {"stages": stages, "plan": plan},  # step = stages run
                  system_dir=final)
