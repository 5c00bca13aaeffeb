"""Silver passage sequences for the BGM bridge (Ke et al., 2024): for each training question, greedily
build the sequence of its candidates that the frozen generator does best with.

Start from the empty sequence; at every step score each extension `sequence + [candidate]` (candidates
not used yet) and keep the best one if it beats the current score by more than `min_gain`; stop when
nothing improves or at `max_len`. Among the extensions, a candidate ranked lower by the retriever wins only
if it beats every higher-ranked one by more than `rank_margin`: differences below it are treated as noise and
the retriever's order decides. The empty sequence is a valid answer (no passage helps). All unfinished questions advance in
lockstep, so each step is one batched generator call. Results are appended to a JSONL cache, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragadapt.jsonl import AppendLog
from ragadapt.types import Hit, Passage

log = logging.getLogger(__name__)

# (question, answer, passages in order) -> score; called on many items at once
Scorer = Callable[[Sequence[tuple[str, str, Sequence[Passage]]]], Sequence[float]]


@dataclass
class SilverResult:
    id: str
    question: str
    answer: str
    candidates: list[str]  # candidate passage ids, in retrieval order
    sequence: list[str]  # the silver sequence (passage ids, in order); may be empty
    score: float  # the generator's score with `sequence`
    empty_score: float  # ... with no passage
    trace: list[float] = field(default_factory=list)  # best score after each accepted step

    def to_dict(self) -> dict:
        return asdict(self)


def likelihood_scorer(generator, prompt, batch_size: int = 8, reduction: str = "sum") -> Scorer:
    """log P_LM(answer | question, passages in order): the default BGM target (`reduction="mean"`: per token)."""

    def score(items):
        prompts = [prompt.messages(q, [Hit(p, 0.0, r) for r, p in enumerate(ps)], generator.count_tokens)
                   for q, _, ps in items]
        return generator.loglikelihood(prompts, [a for _, a, _ in items], reduction=reduction,
                                       batch_size=batch_size).tolist()

    return score


ANSWER_METRICS = ("contains", "em", "f1")


def answer_metric_scorer(generator, prompt, metric: str = "f1", max_new_tokens: int = 24,
                         batch_size: int = 8) -> Scorer:
    """Answer-contains, EM or F1 of the generator's greedy answer against the gold answer."""
    from ragadapt.eval.metrics import answer_contains, exact_match, f1_score

    fn = {"contains": answer_contains, "em": exact_match, "f1": f1_score}[metric]

    def score(items):
        prompts = [prompt.messages(q, [Hit(p, 0.0, r) for r, p in enumerate(ps)], generator.count_tokens)
                   for q, _, ps in items]
        answers = generator.generate(prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)
        return [fn(pred, [a]) for pred, (_, a, _) in zip(answers, items)]

    return score


@dataclass
class _State:
    sequence: list[int]
    score: float
    trace: list[float]
    done: bool = False


def _pick(scored: list[tuple[int, float]], rank_margin: float) -> tuple[float, int]:
    """(score, candidate) of the best extension, walking down the retriever's order: a later candidate takes
    over only when it beats the current choice by more than `rank_margin`."""
    scored = sorted(scored)  # by candidate index = retriever rank
    best_j, best = scored[0]
    for j, value in scored[1:]:
        if value > best + rank_margin:
            best_j, best = j, value
    return best, best_j


def greedy_silver(ids: Sequence[str], questions: Sequence[str], answers: Sequence[str],
                  candidates: Sequence[Sequence[Passage]], scorer: Scorer, max_len: int | None = None,
                  min_gain: float = 1e-6, rank_margin: float = 0.0) -> list[SilverResult]:
    """Greedy silver sequences for many questions at once (one scorer call per step)."""
    empty = list(scorer([(q, a, []) for q, a in zip(questions, answers)]))
    states = [_State([], s, []) for s in empty]
    limit = max_len if max_len is not None else max((len(c) for c in candidates), default=0)
    for _ in range(limit):
        items, owners = [], []
        for i, st in enumerate(states):
            if st.done:
                continue
            unused = [j for j in range(len(candidates[i])) if j not in st.sequence]
            if not unused:
                st.done = True
            for j in unused:
                items.append((questions[i], answers[i], [candidates[i][k] for k in st.sequence + [j]]))
                owners.append((i, j))
        if not items:
            break
        scored: dict[int, list[tuple[int, float]]] = {}
        for (i, j), value in zip(owners, scorer(items)):
            scored.setdefault(i, []).append((j, value))
        for i, options in scored.items():
            value, j = _pick(options, rank_margin)
            st = states[i]
            if value > st.score + min_gain:
                st.sequence.append(j)
                st.score = value
                st.trace.append(value)
            else:
                st.done = True
    return [SilverResult(id_, q, a, [p.id for p in c], [c[j].id for j in st.sequence], float(st.score),
                         float(e), st.trace)
            for id_, q, a, c, st, e in zip(ids, questions, answers, candidates, states, empty)]


def check_cache_settings(cache: str | Path | None, settings: dict) -> None:
    """A silver cache is only valid for the search settings that filled it: they are written next to it
    (`<cache>.settings.json`) and a cache made with other settings is refused rather than silently reused."""
    import json

    from ragadapt.atomic import atomic_write_text
    from ragadapt.errors import DataFormatError

    if cache is None:
        return
    path = Path(str(cache) + ".settings.json")
    if path.exists():
        saved = json.loads(path.read_text())
        changed = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
        if changed:
            raise DataFormatError(f"silver cache {cache} was made with other settings ({', '.join(changed)}: "
                                  f"{[saved.get(k) for k in changed]} there, {[settings.get(k) for k in changed]} "
                                  "now); use another output_dir or delete the cache", path=str(path))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(settings, sort_keys=True))


def silver_sequences(ids, questions, answers, candidates, scorer: Scorer, cache: str | Path | None = None,
                     chunk: int = 32, max_len: int | None = None, min_gain: float = 1e-6,
                     rank_margin: float = 0.0, show_progress: bool = True,
                     settings: dict | None = None) -> list[SilverResult]:
    """`greedy_silver` over chunks of questions, each chunk appended to `cache` (JSONL) when done; questions
    already in the cache are not searched again. `settings` (e.g. the scorer and the target) are checked
    against the cache's together with the search parameters."""
    from tqdm.auto import tqdm

    check_cache_settings(cache, {"max_len": max_len, "min_gain": min_gain, "rank_margin": rank_margin,
                                 **(settings or {})})
    store = AppendLog(cache)
    done = {row["id"]: SilverResult(**row) for row in store.read()}

    def cached(i: int) -> bool:  # the same question, answer and candidates (a changed retriever searches again)
        row = done.get(ids[i])
        return row is not None and (row.question, row.answer, row.candidates) == (
            questions[i], answers[i], [p.id for p in candidates[i]])

    todo = [i for i in range(len(ids)) if not cached(i)]
    stale = sum(ids[i] in done for i in todo)
    log.info("silver sequences: %d to search, %d cached%s", len(todo), len(ids) - len(todo),
             f" ({stale} cached rows had other questions, answers or candidates: searched again)" if stale else "")
    bar = tqdm(total=len(todo), desc="silver sequences", unit="q", disable=not show_progress or not todo)
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        results = greedy_silver([ids[i] for i in part], [questions[i] for i in part], [answers[i] for i in part],
                                [candidates[i] for i in part], scorer, max_len, min_gain, rank_margin)
        store.append([r.to_dict() for r in results])
        done.update({r.id: r for r in results})
        bar.update(len(part))
    bar.close()
    return [done[id_] for id_ in ids]
