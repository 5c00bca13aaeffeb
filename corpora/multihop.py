"""Two-hop questions from any corpus with titled documents (HotpotQA-style "bridge" questions).

Hop 1 - an article A whose first sentence names another article's title B:
    "The Mona Lisa is a half-length portrait painting by Italian artist Leonardo da Vinci."
Hop 2 - a template question about B whose answer is in B's lead and not in A's (a year or a definition):
    "Leonardo da Vinci was born in what year?" -> "1452"
Composed - B is left out of both, so it has to be found through A before B's article can be searched:
    'X was born in what year? (X is the name left out of: "The Mona Lisa is a half-length portrait
     painting by Italian artist X.")' -> "1452"

Each triple keeps B's passage as its answer passage and A's as `bridge`; `split_by_document` holds a
question out when either of its documents is held out.
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from collections.abc import Iterable

from ragadapt.corpora.qa_recipes import QATriple, RecipeStats, template_qa
from ragadapt.types import Passage

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"\S+")
MAX_TITLE_WORDS = 6


def title_mentions(sentence: str, titles: set[str]) -> list[tuple[int, int, str]]:
    """(start, end, title) of every title that occurs in `sentence` as whole words, case-sensitive, longest
    match first at each position, never at the start of the sentence (its subject)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(sentence)]
    found = []
    for i in range(1, len(words)):
        for n in range(min(MAX_TITLE_WORDS, len(words) - i), 0, -1):
            start, end = words[i][0], words[i + n - 1][1]
            text = sentence[start:end].rstrip(".,;:)'\"")
            if text in titles and text[:1].isupper():
                found.append((start, start + len(text), text))
                break
    return found


def two_hop_qa(passages: Iterable[Passage], stats: RecipeStats | None = None, max_per_bridge: int = 2,
               max_sentence_words: int = 40, seed: int = 0) -> list[QATriple]:
    """Two-hop triples (see the module docstring). `max_per_bridge`: questions per B, so a few very common
    entities (countries) do not fill the set."""
    stats = stats if stats is not None else RecipeStats()
    passages = list(passages)
    leads: dict[str, Passage] = {}
    for p in passages:
        if p.title and p.doc_id not in leads:
            leads[p.doc_id] = p
    by_title = {p.title: p for p in leads.values()}
    hop2: dict[str, list[QATriple]] = defaultdict(list)  # title -> template questions about it
    for t in template_qa(leads.values(), RecipeStats()):
        if t.passage.title.lower() in t.question.lower():
            hop2[t.passage.title].append(t)
    titles = set(hop2)
    rng = random.Random(seed)
    used: dict[str, int] = defaultdict(int)
    out: list[QATriple] = []
    for a in leads.values():
        stats.documents += 1
        first = (_SENTENCE.split(a.text.strip()) or [""])[0]
        if len(first.split()) > max_sentence_words:
            stats.reject("first sentence too long")
            continue
        mentions = [m for m in title_mentions(first, titles) if m[2] != a.title and m[2] not in a.title]
        if not mentions:
            stats.reject("first sentence names no other article with a template question")
            continue
        start, end, b = max(mentions, key=lambda m: len(m[2]))
        if used[b] >= max_per_bridge:
            stats.reject("bridge entity used enough")
            continue
        hop = rng.choice(hop2[b])
        if hop.answer.lower() in a.text.lower():
            stats.reject("answer already in the first article")
            continue
        masked = first[:start] + "X" + first[end:]
        second = re.sub(re.escape(b), "X", hop.question, count=1, flags=re.IGNORECASE)
        question = f'{second} (X is the name left out of: "{masked}")'
        used[b] += 1
        out.append(QATriple(question, hop.answer, by_title[b], f"two-hop-{hop.kind}", bridge=a))
    stats.triples += len(out)
    log.info("two-hop QA: %d triples from %d documents (%s)", len(out), stats.documents, stats.rejected)
    return out
