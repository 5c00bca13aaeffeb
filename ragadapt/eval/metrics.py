"""QA and retrieval metrics. Answer normalisation follows the SQuAD evaluation script:
lower-case, drop punctuation and the articles a/an/the, collapse whitespace."""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_PUNCT_TO_SPACE = str.maketrans(string.punctuation, " " * len(string.punctuation))


def normalize_answer(text: str) -> str:
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    return max((_f1(prediction, g) for g in golds), default=0.0)


def _fold_accents(text: str) -> str:
    """"Bogotá" -> "Bogota": a model that writes a name without its accents still names it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _words(text: str) -> str:
    """Like normalize_answer, but punctuation splits words ("Seurat's" -> "seurat s") and accents fold."""
    return " ".join(_ARTICLES.sub(" ", _fold_accents(text).lower().translate(_PUNCT_TO_SPACE)).split())


def answer_contains(prediction: str, golds: Sequence[str]) -> float:
    """1 when a gold answer appears, as whole words, inside the prediction (case, accents, articles and
    punctuation ignored; punctuation separates words, so "Seurat's" contains "Seurat"). EM and F1 keep
    SQuAD's normalisation unchanged, so they stay comparable with published figures."""
    p = f" {_words(prediction)} "
    return float(any(_words(g) and f" {_words(g)} " in p for g in golds))


# the last clause of a question that offers a choice: "Which came first, Dune or Lolita?" / "...: A or B?"
_OPTIONS = re.compile(r"[,:]\s*([^,:?]+?)\s+or\s+([^,:?]+?)\s*\?\s*$", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def question_options(question: str) -> list[str]:
    """The options a question offers to choose from ("..., A or B?"); [] when it offers none."""
    match = _OPTIONS.search(question or "")
    return [match.group(1), match.group(2)] if match else []


def strict_contains(prediction: str, golds: Sequence[str], question: str = "") -> float:
    """answer_contains, without the credit it gives a reply that hedges: for a question offering options, 1 only
    when the reply names a right option and none of the others ("Dune or Lolita" is right for neither); for a
    yes/no question, the first yes or no the reply says. Any other question: answer_contains."""
    gold_words = {_words(g) for g in golds if _words(g)}
    if gold_words and gold_words <= {"yes", "no"}:
        first = _YES_NO.search(prediction)
        return float(first is not None and first.group(1).lower() in gold_words)
    options = question_options(question)
    right = [o for o in options if _words(o) in gold_words or answer_contains(o, golds)]
    if not right:  # no option is a gold answer: not a choice between the answers
        return answer_contains(prediction, golds)
    # an option inside a gold answer ("the Wind" of "Gone with the Wind") is not a second choice named
    others = [o for o in options if o not in right and not answer_contains(" ".join(golds), [o])]
    return float(answer_contains(prediction, golds) and not any(answer_contains(prediction, [o]) for o in others))


# ---- retrieval: `relevant` is a list of booleans in rank order ------------------------------------

def recall_at_k(relevant: Sequence[bool], k: int, n_relevant: int | None = None) -> float:
    """Fraction of the relevant items found in the top k. With `n_relevant` unknown (relevance judged
    by answer containment), this is the hit rate: 1 if any of the top k is relevant."""
    found = sum(bool(r) for r in relevant[:k])
    if n_relevant is None:
        return float(found > 0)
    return found / n_relevant if n_relevant else 0.0


def mrr(relevant: Sequence[bool], k: int | None = None) -> float:
    for i, r in enumerate(relevant[:k]):
        if r:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], k: int, n_relevant: int | None = None) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts min(n_relevant, k) relevant items first."""
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(relevant[:k]) if r)
    n_ideal = min(n_relevant if n_relevant is not None else sum(map(bool, relevant)), k)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(n_ideal))
    return dcg / idcg if idcg else 0.0


_ABSTAIN = re.compile(r"\b(i don'?t know|i do not know|cannot answer|can'?t answer|unable to answer|not mentioned|"
                      r"no information|not (?:provided|specified|stated|given)|do(?:es)? not (?:say|mention|contain|"
                      r"provide|specify)|unknown)\b", re.IGNORECASE)


def is_abstention(text: str) -> bool:
    """The answer declines ("I don't know", "the passages do not mention it", ...)."""
    return bool(_ABSTAIN.search(text.replace("’", "'")))


def paired(a: Sequence[dict], b: Sequence[dict], metric: str = "contains") -> dict:
    """Questions right with `a` only and with `b` only, and the two-sided sign-test p-value of that split:
    on a few hundred questions a difference of a few points is only worth as much as these counts."""
    only_a = sum(x[metric] > y[metric] for x, y in zip(a, b))
    only_b = sum(y[metric] > x[metric] for x, y in zip(a, b))
    n, low = only_a + only_b, min(only_a, only_b)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(low + 1)) / 2 ** n) if n else 1.0
    return {"only_a": only_a, "only_b": only_b, "p": p}
