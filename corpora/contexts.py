"""Context perturbations for contextual SFT (SFR-RAG style) and faithfulness evaluation.

From a QA triple and hard negatives (retrieved passages of other documents that do not contain the
answer), five kinds of context, each with the target a faithful generator should produce:
  clean           gold passage first, then retrieved passages          -> the answer
  noisy           gold among hard negatives, order shuffled            -> the answer
  counterfactual  gold with its answer span edited consistently (every occurrence replaced by the
                  answer of another triple of the same kind)          -> the edited answer
  unanswerable    hard negatives only (gold removed)                   -> the abstention phrase
  conflicting     original and edited gold both present, shuffled      -> a sentence naming both
Everything is deterministic given the seed.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ragadapt.corpora.qa_recipes import QATriple
from ragadapt.errors import DataFormatError
from ragadapt.types import Passage

KINDS = ("clean", "noisy", "counterfactual", "unanswerable", "conflicting")
ABSTAIN = "I don't know."
DEFAULT_RATIOS = {"clean": 0.25, "noisy": 0.2, "counterfactual": 0.2, "unanswerable": 0.2, "conflicting": 0.15}


def conflict_target(original: str, edited: str) -> str:
    return f"The passages disagree: one says {original}, another says {edited}."


@dataclass
class ContextExample:
    kind: str
    question: str
    passages: list[Passage]
    target: str
    answers: list[str]  # what counts as a faithful answer (the target's answer spans)
    original: str  # the gold answer, before any edit (its presence in a counterfactual answer = parametric)
    edited: str | None = None
    doc_id: str = ""

    def to_dict(self) -> dict:
        return {"kind": self.kind, "question": self.question, "passages": [p.to_dict() for p in self.passages],
                "target": self.target, "answers": self.answers, "original": self.original, "edited": self.edited,
                "doc_id": self.doc_id}

    @classmethod
    def from_dict(cls, d: dict) -> ContextExample:
        """A saved example; a field of the wrong shape raises DataFormatError naming the field."""
        def text(name: str, optional: bool = False):
            value = d.get(name)
            if value is None and optional:
                return None
            if not isinstance(value, str):
                raise DataFormatError(f"expected text, got {value!r}", field=name)
            return value

        if d.get("kind") not in KINDS:
            raise DataFormatError(f"kind must be one of {', '.join(KINDS)}, got {d.get('kind')!r}", field="kind")
        passages, answers = d.get("passages"), d.get("answers")
        if not isinstance(passages, list) or not all(isinstance(p, dict) and isinstance(p.get("id"), str) and
                                                     isinstance(p.get("text"), str) for p in passages):
            raise DataFormatError("expected a list of passages, each with text `id` and `text`", field="passages")
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise DataFormatError(f"expected a list of texts, got {answers!r}", field="answers")
        return cls(d["kind"], text("question"), [Passage.from_dict(p) for p in passages], text("target"),
                   list(answers), text("original"), text("edited", optional=True), str(d.get("doc_id") or ""))


def edit_passage(passage: Passage, answer: str, replacement: str) -> Passage:
    """Replace every whole-word occurrence of `answer` by `replacement`; the id gets a `#cf` suffix."""
    pattern = re.compile(rf"(?<!\w){re.escape(answer)}(?!\w)")
    text, n = pattern.subn(replacement, passage.text)
    if n == 0:
        raise DataFormatError(f"answer {answer!r} not found in passage {passage.id!r}")
    return replace(passage, id=f"{passage.id}#cf", text=text)


def window_around(passage: Passage, answer: str, max_chars: int) -> Passage:
    """Cut a long passage to `max_chars` around the first occurrence of the answer (word boundaries)."""
    text = passage.text
    if len(text) <= max_chars:
        return passage
    at = max(text.find(answer), 0)
    start = max(0, min(at - max_chars // 3, len(text) - max_chars))
    end = start + max_chars
    if start > 0:
        start = text.find(" ", start) + 1 or start
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > at + len(answer) else end
    return replace(passage, text=text[start:end], start=passage.start + start, end=passage.start + end)


@dataclass
class ContextStats:
    built: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    skipped_no_negatives: int = 0
    skipped_no_replacement: int = 0
    skipped_uneditable: int = 0  # the answer is not a whole word of the passage, so it cannot be swapped
    short_of_negatives: int = 0


Negatives = Callable[[Sequence[QATriple], int], list[list[Passage]]]


def retriever_negatives(retriever, fetch: int = 20) -> Negatives:
    """Hard negatives: the retriever's top passages for the question, minus the gold document and any
    passage that contains the answer (so an 'unanswerable' context really is unanswerable)."""

    def negatives(triples: Sequence[QATriple], k: int) -> list[list[Passage]]:
        hits = retriever.search([t.question for t in triples], fetch)
        out = []
        for t, hs in zip(triples, hits):
            keep = [h.passage for h in hs if h.passage.doc_id != t.passage.doc_id
                    and t.answer.lower() not in h.passage.text.lower()]
            out.append(keep[:k])
        return out

    return negatives


class ContextBuilder:
    """Perturbed contexts for QA triples. `paired`: kinds whose example comes with a clean twin (the same question
    with its gold passage), so that the question alone never tells the model to abstain or to follow an edit: only
    the passage it is shown does (contrastive pairs)."""

    def __init__(self, negatives: Negatives, k: int = 3, ratios: dict[str, float] | None = None, seed: int = 0,
                 max_passage_chars: int = 600, paired: Sequence[str] = (), abstain: str = ABSTAIN):
        ratios = dict(ratios or DEFAULT_RATIOS)
        unknown = set(ratios) - set(KINDS)
        if unknown:
            raise DataFormatError(f"unknown context kind(s) {sorted(unknown)}; kinds are {KINDS}", field="ratios")
        unknown = set(paired) - (set(KINDS) - {"clean"})
        if unknown:
            raise DataFormatError(f"paired: unknown or clean kind(s) {sorted(unknown)}; pair any of "
                                  f"{[k for k in KINDS if k != 'clean']}", field="paired")
        self.paired, self.abstain = tuple(paired), abstain
        self.negatives, self.k, self.seed, self.max_chars = negatives, k, seed, max_passage_chars
        self.ratios = {kind: ratios.get(kind, 0.0) for kind in KINDS}
        self.stats = ContextStats()

    def _rng(self, triple: QATriple) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}|{triple.question}|{triple.passage.id}".encode()).hexdigest()
        return random.Random(int(digest[:16], 16))

    def _replacement(self, triple: QATriple, pool: Sequence[QATriple], rng: random.Random) -> str | None:
        candidates = sorted({t.answer for t in pool if t.kind == triple.kind and t.answer.lower() != triple.answer.lower()
                             and t.answer.lower() not in triple.passage.text.lower()})
        return rng.choice(candidates) if candidates else None

    def build(self, triples: Sequence[QATriple], all_kinds: bool = False) -> list[ContextExample]:
        """One example per triple (kind drawn by the ratios), or every kind per triple (`all_kinds`)."""
        if not triples:
            return []
        negs = self.negatives(triples, self.k + 1)
        if sum(len(n) for n in negs) == 0:
            raise DataFormatError("the corpus is too small to find negatives: no retrieved passage outside the "
                                  "gold documents; add documents or lower k")
        out = []
        kinds, weights = list(self.ratios), list(self.ratios.values())
        for triple, neg in zip(triples, negs):
            rng = self._rng(triple)
            if len(neg) < self.k:
                self.stats.short_of_negatives += 1
            wanted = self.judged_kinds() if all_kinds else [rng.choices(kinds, weights)[0]]
            if not all_kinds and wanted[0] in self.paired:
                wanted = ["clean", wanted[0]]
            for kind in wanted:
                example = self._one(kind, triple, neg, triples, rng)
                if example is not None:
                    self.stats.built[kind] += 1
                    out.append(example)
        return out

    def judged_kinds(self) -> tuple[str, ...]:
        """The kinds a held-out set has at this k: a conflicting pair is two passages, which a system serving one
        passage never shows, so at k=1 it is not judged (it would cost a fifth of the report and measure nothing
        the system does)."""
        return tuple(kind for kind in KINDS if kind != "conflicting" or self.k >= 2)

    def _one(self, kind: str, t: QATriple, neg: list[Passage], pool, rng) -> ContextExample | None:
        gold = window_around(t.passage, t.answer, self.max_chars)
        others = [window_around(p, "", self.max_chars) for p in neg]
        base = {"question": t.question, "original": t.answer, "doc_id": t.passage.doc_id}
        if kind == "clean":
            return ContextExample("clean", passages=[gold] + others[: self.k - 1], target=t.answer, answers=[t.answer], **base)
        if kind == "noisy":
            passages = [gold] + others[: self.k]
            rng.shuffle(passages)
            return ContextExample("noisy", passages=passages, target=t.answer, answers=[t.answer], **base)
        if kind == "unanswerable":
            if not others:
                self.stats.skipped_no_negatives += 1
                return None
            return ContextExample("unanswerable", passages=others[: self.k], target=self.abstain, answers=[self.abstain],
                                  **base)
        new = self._replacement(t, pool, rng)
        if new is None:
            self.stats.skipped_no_replacement += 1
            return None
        try:
            edited = edit_passage(gold, t.answer, new)
        except DataFormatError:
            self.stats.skipped_uneditable += 1
            return None
        if kind == "counterfactual":
            return ContextExample("counterfactual", passages=[edited] + others[: self.k - 1], target=new,
                                  answers=[new], edited=new, **base)
        passages = [gold, edited] + others[: max(0, self.k - 2)]
        rng.shuffle(passages)
        return ContextExample("conflicting", passages=passages, target=conflict_target(t.answer, new),
                              answers=[t.answer, new], edited=new, **base)
