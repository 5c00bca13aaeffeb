"""LM scores log P_LM(answer | passage, question) from a frozen generator: one passage per prompt (the
REPLUG setting), batched through `Generator.loglikelihood`, cached on disk so a refresh or a resumed run
only scores pairs it has not seen."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from ragadapt.jsonl import AppendLog
from ragadapt.prompts import RAGPrompt
from ragadapt.types import Hit, Passage

log = logging.getLogger(__name__)


def pair_key(question: str, answer: str, passage: Passage) -> str:
    """Stable key of a scored pair: the passage's text is part of it, so an edited corpus is re-scored."""
    raw = "\x1f".join((question, answer, passage.id, passage.title, passage.text))
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


class ScoreCache:
    """{pair key: score}, persisted as an append-only JSONL log (resumable; see ragadapt.jsonl.AppendLog)."""

    def __init__(self, path: str | Path | None):
        self.log = AppendLog(path)
        self.scores: dict[str, float] = {}
        for row in self.log.read():
            try:
                self.scores[row["key"]] = float(row["score"])
            except (KeyError, TypeError, ValueError):
                continue
        if self.scores:
            log.info("%s: %d cached LM scores", self.log.path, len(self.scores))

    def add(self, items: dict[str, float]) -> None:
        self.scores.update(items)
        self.log.append([{"key": k, "score": v} for k, v in items.items()])


class LMScorer:
    """Scores (question, answer, passage) triples with a frozen generator."""

    def __init__(self, generator, prompt: RAGPrompt | None = None, cache: str | Path | None = None,
                 batch_size: int = 8, flush_every: int = 256, show_progress: bool = True):
        self.generator = generator
        self.prompt = prompt or RAGPrompt(max_prompt_tokens=512)
        self.cache = ScoreCache(cache)
        self.batch_size, self.flush_every, self.show_progress = batch_size, flush_every, show_progress
        self.scored = 0  # pairs scored by the LM in this process (the rest came from the cache)

    def score(self, questions: Sequence[str], answers: Sequence[str],
              candidates: Sequence[Sequence[Hit]]) -> list[list[float]]:
        """log P(answer | passage, question) for every candidate of every question, in candidate order."""
        from tqdm.auto import tqdm

        keys = [[pair_key(q, a, h.passage) for h in hs] for q, a, hs in zip(questions, answers, candidates)]
        todo, seen = [], set()
        for q, a, hs, ks in zip(questions, answers, candidates, keys):
            for h, key in zip(hs, ks):
                if key not in self.cache.scores and key not in seen:
                    seen.add(key)
                    todo.append((key, q, a, h))
        if todo:
            log.info("LM scoring %d new (question, passage) pairs (%d cached)", len(todo),
                     sum(len(k) for k in keys) - len(todo))
        bar = tqdm(total=len(todo), desc="LM scoring", unit="pair", disable=not self.show_progress or not todo)
        count = self.generator.count_tokens
        for start in range(0, len(todo), self.flush_every):
            chunk = todo[start:start + self.flush_every]
            prompts = [self.prompt.messages(q, [h], count) for _, q, _, h in chunk]
            values = self.generator.loglikelihood(prompts, [a for _, _, a, _ in chunk], batch_size=self.batch_size)
            self.cache.add({key: float(v) for (key, *_), v in zip(chunk, values.tolist())})
            self.scored += len(chunk)
            bar.update(len(chunk))
        bar.close()
        return [[self.cache.scores[k] for k in ks] for ks in keys]
