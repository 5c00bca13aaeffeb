"""Abstention by likelihood ratio: a generator that declines when its abstention reply is nearly as likely as its
own answer.

Why: a generator tuned on answer-less passages learns to tell them from answering ones (the abstention reply gains
likelihood over the answer-less one) well before greedy decoding ever prefers that reply to an answer, so greedy
answers show none of it. Comparing the two likelihoods recovers the decision; its threshold is set on answerable
dev questions for a chosen false-abstention rate (selective prediction), never on the data reported. No library
in the stack has this rule (transformers' logit processors act per token, not on whole replies), hence by hand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ragadapt.generation.base import Prompt, as_served

FIELD = "abstention"  # the rule's field in a generator directory's manifest.json


@dataclass(frozen=True)
class AbstentionRule:
    reply: str
    threshold: float  # abstain where mean log P(reply) - mean log P(answer) exceeds it


def margins(generator, prompts: Sequence[Prompt], answers: Sequence[str], reply: str,
            batch_size: int = 8) -> list[float]:
    """Per prompt: mean token log-likelihood of `reply` minus that of the generator's own `answer` (mean, not sum,
    so a long answer is not declined for its length)."""
    if len(prompts) != len(answers):
        raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
    if not prompts:
        return []
    n = len(prompts)  # one call with both replies per prompt: a generator that shares prompts runs each once
    scored = generator.loglikelihood(list(prompts) * 2, [reply] * n + [a or "." for a in answers], reduction="mean",
                                     batch_size=batch_size)
    return [float(r - a) for r, a in zip(scored[:n], scored[n:])]


def calibrate(dev_margins: Sequence[float], rate: float) -> float:
    """The lowest threshold at which at most floor(`rate` x n) of the answerable dev margins exceed it: the rule
    then declines at most that share of answerable dev questions."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"abstention rate must be in [0, 1), got {rate}")
    if not dev_margins:
        raise ValueError("calibrating an abstention threshold needs dev margins; got none")
    ranked = sorted(dev_margins, reverse=True)
    return ranked[int(rate * len(ranked))]


def rule_of(directory) -> AbstentionRule | None:
    """The rule stored with a saved generator (its manifest's `abstention` field), or None."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        return None
    stored = json.loads(path.read_text(encoding="utf-8")).get(FIELD)
    return AbstentionRule(stored["reply"], float(stored["threshold"])) if stored else None


def store_rule(directory, rule: AbstentionRule) -> None:
    """Record `rule` in a saved generator's manifest, so every load of the directory serves it. The manifest is
    replaced atomically; the files it lists are untouched, so their checksums still hold."""
    from ragadapt.atomic import atomic_write_text

    path = Path(directory) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[FIELD] = asdict(rule)
    atomic_write_text(path, json.dumps(manifest, indent=2))


def with_rule(generator, directory):
    """`generator` as saved in `directory`: wrapped in its stored rule when it has one."""
    rule = rule_of(directory) if Path(str(directory)).is_dir() else None
    return Abstaining(generator, rule) if rule is not None else generator


class Abstaining:
    """`generator` answering as usual, except that it gives `rule.reply` where the reply's margin over its own
    greedy answer exceeds `rule.threshold`. Any other attribute is the wrapped generator's."""

    def __init__(self, generator, rule: AbstentionRule):
        self.generator = generator
        self.rule = rule

    def __getattr__(self, name):
        return getattr(self.generator, name)

    def served(self):
        """The wrapped generator as a system serves it, still under the rule."""
        return Abstaining(as_served(self.generator), self.rule)

    def save(self, directory) -> Path:
        self.generator.save(directory)
        store_rule(directory, self.rule)
        return Path(directory)

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int = 64, temperature: float = 0.0,
                 top_p: float = 1.0, batch_size: int = 8, stop: Sequence[str] | None = None) -> list[str]:
        answers = self.generator.generate(prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                                          top_p=top_p, batch_size=batch_size, stop=stop)
        scored = margins(self.generator, prompts, answers, self.rule.reply, batch_size)
        return [self.rule.reply if m > self.rule.threshold else a for a, m in zip(answers, scored)]
