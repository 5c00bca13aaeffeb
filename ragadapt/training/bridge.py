"""`ragadapt train bridge`: the BGM bridge (Ke et al., 2024), retriever and generator frozen throughout.

1. candidates: the retriever's top-k for every training question
2. silver sequences: greedy search with the frozen generator (ragadapt.bridges.silver), cached
3. stage 1: SFT of the bridge on (question + numbered candidates -> silver ids) with the SFT core
4. stage 2: GRPO from the SFT model; reward = the frozen generator's log-likelihood of the gold answer
   with the bridge's selection, + a format term (the reply parses) - a length term per passage
5. evaluation on held-out and dev questions (ragadapt.training.bridge_eval): answers with top-1, top-k,
   the reranker's top-1, the SFT bridge and the RL bridge, and the mean number of passages passed
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from ragadapt.bridges.bgm import BGMBridge, bridge_messages, candidate_labels, format_selection, parse_selection
from ragadapt.bridges.silver import ANSWER_METRICS, answer_metric_scorer, likelihood_scorer, silver_sequences
from ragadapt.errors import DataFormatError
from ragadapt.generation.base import as_served
from ragadapt.jsonl import write_jsonl
from ragadapt.prompts import RAGPrompt
from ragadapt.training.retrieval.config import BridgeConfig
from ragadapt.training.rewards import completion_text
from ragadapt.types import Passage

log = logging.getLogger(__name__)


def downstream_scorer(target: str, cfg: BridgeConfig, generator, reduction: str = "sum"):
    """The frozen generator's score of the gold answer given some passages: the silver search's target and the
    RL reward (there per token, so answers of different lengths weigh alike)."""
    prompt = RAGPrompt(max_prompt_tokens=cfg.max_prompt_tokens)
    if target == "loglik":
        return likelihood_scorer(generator, prompt, cfg.score_batch_size, reduction)
    if target in ANSWER_METRICS:
        return answer_metric_scorer(generator, prompt, target, batch_size=cfg.score_batch_size)
    raise DataFormatError(f"must be loglik, contains, em or f1, got {target!r}", field="silver_target / rl_reward")


def sft_rows(silver, candidates, count_tokens, cfg: BridgeConfig) -> list[dict]:
    """(question + numbered candidates -> silver ids) chat examples. A `shuffle_fraction` of them show the
    candidates in a random order (the target ids follow the passages): most silver sequences start with the
    retriever's first passage, and without shuffling the bridge learns to answer "1" whatever it reads."""
    import random

    rng = random.Random(cfg.seed)
    rows = []
    for s, hits in zip(silver, candidates):
        hits = list(hits[: cfg.k])
        if rng.random() < cfg.shuffle_fraction:
            rng.shuffle(hits)
        position = {h.passage.id: i for i, h in enumerate(hits)}
        target = format_selection([position[p] for p in s.sequence], candidate_labels([h.passage.title for h in hits]))
        rows.append({"messages": bridge_messages(s.question, hits, count_tokens, cfg.k, cfg.passage_tokens)
                     + [{"role": "assistant", "content": target}]})
    return rows


def balanced(silver, first_share: float | None, seed: int) -> list[int]:
    """Indices of the SFT examples: all of them, or (with `first_share`) every example whose silver sequence does
    not start with the retriever's first passage plus enough of those that do for them to make `first_share`."""
    import random

    if first_share is None:
        return list(range(len(silver)))
    first = [i for i, s in enumerate(silver) if s.sequence[:1] == s.candidates[:1]]
    other = [i for i, s in enumerate(silver) if s.sequence[:1] != s.candidates[:1]]
    rng = random.Random(seed)
    keep = rng.sample(first, min(len(first), round(len(other) * first_share / max(1e-9, 1 - first_share))))
    order = other + keep
    rng.shuffle(order)
    log.info("SFT examples: %d whose silver starts elsewhere + %d of %d that start with passage 1", len(other),
             len(keep), len(first))
    return order


def memoized(score):
    """The frozen generator scores a selection the same every time (greedy answers, no dropout), and the
    completions of one GRPO group mostly select the same passages: each (question, answer, passages) is
    scored once."""
    memo: dict[tuple, float] = {}

    def lookup(items):
        keys = [(q, a, tuple(p.id for p in ps)) for q, a, ps in items]
        todo = {k: item for k, item in zip(keys, items) if k not in memo}
        memo.update(zip(todo, score(list(todo.values()))))
        return [memo[k] for k in keys]

    return lookup


def hopeless(silver, cfg: BridgeConfig) -> set[str]:
    """Questions on which no selection the silver search tried earned any reward (answer-metric targets, when
    RL uses the same one): every completion would score alike, so GRPO gets no signal from them."""
    if not cfg.rl_skip_hopeless or cfg.rl_reward != cfg.silver_target or cfg.rl_reward == "loglik":
        return set()
    return {s.id for s in silver if max(s.score, s.empty_score) <= 0}


def downstream_rewards(generator, cfg: BridgeConfig):
    """GRPO reward functions over the dataset's `question`, `answer`, `candidates` columns."""
    score = memoized(downstream_scorer(cfg.rl_reward, cfg, generator, reduction="mean"))

    def selections(completions, candidates):
        out = []
        for c, cands in zip(completions, candidates):
            passages = [Passage.from_dict(d) for d in cands]
            picked = parse_selection(completion_text(c), candidate_labels([p.title for p in passages]))
            out.append(None if picked is None else [passages[i] for i in picked])
        return out

    def downstream(prompts, completions, question, answer, candidates, **_):
        chosen = selections(completions, candidates)
        return [float(s) for s in score([(q, a, sel or []) for q, a, sel in zip(question, answer, chosen)])]

    def well_formed(prompts, completions, candidates, **_):
        return [0.0 if sel is None else 1.0 for sel in selections(completions, candidates)]

    def length(prompts, completions, candidates, **_):
        return [-float(len(sel or [])) for sel in selections(completions, candidates)]

    return [downstream, well_formed, length], [1.0, cfg.format_weight, cfg.length_penalty]


def evaluate_bridges(system, generator, bridges: dict, test, cfg: BridgeConfig, out: Path) -> dict:
    """top-1 / top-k / reranker / each bridge on the held-out questions and the dev set, same candidates."""
    from ragadapt.training.bridge_eval import compare, load_reranker, strategies
    from ragadapt.training.retrieval.evaluation import dev_sets

    splits = {name: (examples, system.retrieve([e.question for e in examples], cfg.k))
              for name, examples in (("held-out", test), *dev_sets(cfg.dev_set).items()) if examples}
    selectors = strategies(cfg.k, bridges, load_reranker(cfg.compare_reranker))
    prompt = RAGPrompt(max_prompt_tokens=cfg.max_prompt_tokens)
    return compare(as_served(generator), prompt, splits, selectors, bridges, out, cfg.score_batch_size,
                   max_new_tokens=system.config.max_new_tokens)


def train_bridge(cfg: BridgeConfig):
    from ragadapt.training.compose import SYSTEM, generator_source, generator_tag, write_system
    from ragadapt.training.config import LMConfig, RLConfig, Source
    from ragadapt.training.lm import train_lm
    from ragadapt.training.retrieval.data import load_or_build_system, routine_questions
    from ragadapt.training.retrieval.replug import load_scorer
    from ragadapt.training.rl import train_rl
    from ragadapt.training.runner import finish

    out = Path(cfg.output_dir)
    system = load_or_build_system(cfg.system, cfg.corpus, dense_only=False)
    train, test = routine_questions(cfg, system, out)
    source = generator_source(cfg.system, cfg.scorer)  # the system's own generator unless told otherwise
    generator = load_scorer(source, cfg.scorer_dtype)
    train_hits = system.retrieve([e.question for e in train], cfg.k)  # reranked when the system has a reranker
    silver = silver_sequences([e.id for e in train], [e.question for e in train], [e.answers[0] for e in train],
                              [[h.passage for h in hs] for hs in train_hits], downstream_scorer(cfg.silver_target, cfg, generator),
                              cache=out / "silver.jsonl", max_len=cfg.silver_max_len,
                              min_gain=cfg.silver_min_gain, rank_margin=cfg.silver_rank_margin,
                              settings={"scorer": generator_tag(source), "target": cfg.silver_target, "k": cfg.k})
    empty = sum(not s.sequence for s in silver)
    log.info("silver sequences: %d questions, %d empty (no candidate helps; kept), mean length %.2f",
             len(silver), empty, sum(len(s.sequence) for s in silver) / max(1, len(silver)))
    from transformers import AutoTokenizer

    from ragadapt.models import resolve_model

    tok = AutoTokenizer.from_pretrained(cfg.model if Path(cfg.model).is_dir() else resolve_model(cfg.model))

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    order = balanced(silver[: cfg.sft_max_train or len(silver)], cfg.sft_first_share, cfg.seed)
    sft_data = write_jsonl(out / "data" / "sft.jsonl",
                            sft_rows([silver[i] for i in order], [train_hits[i] for i in order], count, cfg))
    sft = train_lm(LMConfig(model=cfg.model, output_dir=str(out / "sft"), data=[Source(path=str(sft_data))],
                            max_length=cfg.max_length, freeze=list(cfg.freeze), seed=cfg.seed, resume=cfg.resume,
                            trainer={"learning_rate": 5e-5, "num_train_epochs": 2, **cfg.sft_trainer}), "sft")
    stages = {"bridge (SFT)": str(sft.final_dir)}
    step = sft.global_step
    skip = hopeless(silver, cfg) if cfg.rl else set()
    pool = [(e, hs) for e, hs in zip(train, train_hits) if e.id not in skip]
    if cfg.rl and not pool:
        log.warning("RL stage skipped: on none of the %d training questions did any selection earn a reward, so "
                    "every completion would score alike; the SFT bridge is kept (rl_skip_hopeless=false trains "
                    "on them anyway)", len(train))
    if cfg.rl and pool:
        log.info("RL prompts: %d of %d questions (%d left out: no candidate earns any reward)",
                 min(len(pool), cfg.rl_max_train), len(train), len(skip))
        rl_rows = [{"prompt": bridge_messages(e.question, hs, count, cfg.k, cfg.passage_tokens), "question": e.question,
                    "answer": e.answers[0], "candidates": [h.passage.to_dict() for h in hs]}
                   for e, hs in pool[: cfg.rl_max_train]]
        rl_data = write_jsonl(out / "data" / "rl.jsonl", rl_rows)
        funcs, weights = downstream_rewards(generator, cfg)
        rl = train_rl(RLConfig(model=str(sft.final_dir), output_dir=str(out / "rl"), data=[Source(path=str(rl_data))],
                               rewards=[], reward_weights=weights, freeze=list(cfg.freeze), seed=cfg.seed,
                               resume=cfg.resume, trainer={"max_completion_length": 32, **cfg.rl_trainer}),
                      "grpo", reward_funcs=funcs)
        stages["bridge (SFT + RL)"] = str(rl.final_dir)
        step += rl.global_step
    settings = {"max_candidates": cfg.k, "passage_tokens": cfg.passage_tokens}
    bridges = {name: BGMBridge.from_pretrained(path, **settings) for name, path in stages.items()}
    chosen, choice = choose_bridge(system, generator, bridges, cfg)
    if chosen is None and cfg.require_gain:
        final = out / SYSTEM
        system.save(final)  # no bridge answered dev-select better than none: the system as it came in
        component_dir = Path(stages[list(bridges)[-1]])
    else:
        chosen = chosen or list(bridges)[-1]
        system.config = replace(system.config, fetch_k=cfg.k)
        final = write_system(system, out, "bridge", "bridge", cfg, module=bridges[chosen])
        component_dir = final / "bridge"
    report = {}
    if cfg.evaluate:
        report = evaluate_bridges(system, generator, bridges, test[: cfg.max_answer_eval], cfg, out)
    return finish(out, component_dir, step, {"report": report, "silver_empty": empty, "scorer": source,
                                             **({"dev_select": choice} if choice else {})}, system_dir=final)


def choose_bridge(system, generator, bridges: dict, cfg: BridgeConfig) -> tuple[str | None, dict]:
    """(the name of the bridge that answers `dev_select` best, or None for no bridge; the scores). Candidates in
    order no bridge, SFT, SFT + RL; the first of equal scores wins, so a bridge has to answer more questions right
    than the system without one to be passed on. Without `dev_select`: (the last stage's bridge, {})."""
    if not cfg.dev_select:
        return list(bridges)[-1], {}
    from ragadapt.eval.runner import evaluate
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.evaluation import dev_examples

    examples = dev_examples(cfg.dev_select)[: cfg.dev_select_max]
    generator = as_served(generator)  # answered as served (the scorer may be bf16)
    scores = {}
    for name, bridge in [(None, None), *bridges.items()]:
        config = replace(system.config, fetch_k=cfg.k) if bridge else system.config  # answered as served
        rag = RAGSystem(system.retriever, generator, reranker=system.reranker, bridge=bridge, config=config)
        scores[name or "no bridge"] = evaluate(rag, examples, ks=(config.k,), show_progress=False)["contains"]
    best = max(scores, key=scores.get)
    log.info("bridge choice on %s (%d questions, answer contains): %s -> %s", cfg.dev_select, len(examples),
             scores, best)
    return (None if best == "no bridge" else best), {"metric": f"{cfg.dev_select} contains", "scores": scores,
                                                     "chosen": best}
