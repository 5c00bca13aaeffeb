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


_YEAR_RE = r"(?P<year>1[0-9]{3}|20[0-2][0-9])"
# "... was founded in Stockholm, Sweden in 1972" / "... was discovered in 1817": the verb names the kind of year
_VERB_YEAR = re.compile(r"\b(?:is|was|were|are) (?:\w+ )?(?P<verb>founded|established|formed|built|completed|opened|"
                        r"discovered|invented|published|released|signed|created|written|composed|painted)\b"
                        r"(?: [^.;]{0,60}?)? in (?:\w+ )?" + _YEAR_RE + r"\b")
# "2001: A Space Odyssey is a 1968 epic science fiction film": a work's year before its noun
_WORK_YEAR = re.compile(r"\b(?:is|was) an? " + _YEAR_RE + r" (?:[\w-]+ ){0,4}?(?P<noun>film|novel|album|song|painting|"
                        r"essay|book|play|opera|poem|treaty|novella|musical|symphony|television series|video game)\b")
_WORK_VERB = {"film": "released", "album": "released", "song": "released", "television series": "released",
              "video game": "released", "painting": "painted", "treaty": "signed", "opera": "composed",
              "symphony": "composed", "musical": "written", "play": "written"}  # the rest: published
_PRONOUN_START = ("It ", "They ", "He ", "She ")


def year_facts(passages: Iterable[Passage], sentences: int = 4) -> dict[str, list[tuple[str, int, Passage]]]:
    """{verb: [(title, year, passage)]}: the year something happened to an article's subject (founded, published,
    discovered...), from the first `sentences` sentences of its lead passage when the sentence is about the
    subject (starts with its title or a pronoun); one fact per (document, verb). The comparison recipe's facts."""
    out: dict[str, list[tuple[str, int, Passage]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    leads: dict[str, Passage] = {}
    for p in passages:
        if p.title:
            leads.setdefault(p.doc_id, p)
    for p in leads.values():
        for sentence in _SENTENCE.split(p.text.strip())[:sentences]:
            head = p.title.split(" (")[0]
            if not (sentence.startswith(head) or sentence.startswith("The " + head) or
                    sentence.startswith(_PRONOUN_START)):
                continue
            if m := _VERB_YEAR.search(sentence):
                verb = m["verb"]
            elif m := _WORK_YEAR.search(sentence):
                verb = _WORK_VERB.get(m["noun"], "published")
            else:
                continue
            if (p.doc_id, verb) not in seen:
                seen.add((p.doc_id, verb))
                out[verb].append((head, int(m["year"]), p))
    return out


def comparison_qa(passages: Iterable[Passage], stats: RecipeStats | None = None, max_per_document: int = 2,
                  seed: int = 0) -> list[QATriple]:
    """Questions that name two articles and need a fact from each, written the ways people ask them (HotpotQA's
    comparison questions): from two articles' years of the same kind (founded, born, published...),
        "Which was founded first, A or B?" -> the earlier one's title
        "Was A founded before B?"          -> yes / no
        "How many years after A was B founded?" -> the difference (B the later one)
    The triple keeps the later-named article's passage as `passage` and the other as `bridge`, so either being
    held out holds the question out. Kinds: comparison-first, comparison-yes-no, comparison-years."""
    stats = stats if stats is not None else RecipeStats()
    rejected_before = dict(stats.rejected)  # a mixture shares one stats object across its styles
    rng = random.Random(seed)
    used: dict[str, int] = defaultdict(int)
    out: list[QATriple] = []
    for verb, facts in sorted(year_facts(passages).items()):
        facts = sorted(facts, key=lambda f: f[2].doc_id)
        rng.shuffle(facts)
        for i in range(len(facts) - 1):  # neighbours in a shuffled order: each article in up to two pairs
            (a, year_a, pa), (b, year_b, pb) = facts[i], facts[i + 1]
            stats.documents += 1
            if year_a == year_b or pa.doc_id == pb.doc_id:
                stats.reject("same year or same article")
                continue
            if used[pa.doc_id] >= max_per_document or used[pb.doc_id] >= max_per_document:
                stats.reject("article used enough")
                continue
            used[pa.doc_id] += 1
            used[pb.doc_id] += 1
            done = "born" if verb == "born" else verb
            who = "Who" if verb == "born" else "Which"
            form = len(out) % 3
            if form == 0:
                question, answer, kind = (f"{who} was {done} first, {a} or {b}?", a if year_a < year_b else b,
                                          "comparison-first")
            elif form == 1:
                question, answer, kind = f"Was {a} {done} before {b}?", "yes" if year_a < year_b else "no", \
                    "comparison-yes-no"
            else:
                (a, pa, year_a), (b, pb, year_b) = sorted([(a, pa, year_a), (b, pb, year_b)], key=lambda f: f[2])
                question, answer, kind = (f"How many years after {a} was {b} {done}?", str(year_b - year_a),
                                          "comparison-years")
            out.append(QATriple(question, answer, pb, kind, bridge=pa))
    stats.triples += len(out)
    log.info("comparison QA: %d triples (%s)", len(out),
             {k: v - rejected_before.get(k, 0) for k, v in stats.rejected.items() if v > rejected_before.get(k, 0)})
    return out
