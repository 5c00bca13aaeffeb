"""One QA-synthesis entry point that mixes question styles by weight.

Styles: the existing `template` (definition / year questions on the lead), `entity` (Jeopardy-style: the
question describes its article), `two-hop` and `comparison` (two articles named, a year of each compared)
recipes, plus `facts`: pattern questions of other kinds from *any* sentence of any chunk, not only the lead
(where: "X is located in Y"; who: "X was founded / written / directed / painted / designed by Y"; how many: "X
has N members / species / ..."; when: "In YEAR, ..." anywhere and "X was founded / built / published in YEAR";
what: "X is the capital of Y"; which: "X was a Norwegian painter"), and
`paraphrase`: template questions reworded by a generator, kept only when the generator still answers the
reworded question from the passage and the rewording does not give the answer away.

A mixture is written `mix` (the default weights) or `mix:entity=0.4,template=0.3,facts=0.3`: each style's
triples are drawn deterministically per seed in proportion to its weight (as far as the style has triples), and
the per-style counts are logged and returned.
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from collections.abc import Sequence

from ragadapt.corpora.qa_recipes import RECIPES, QATriple, RecipeStats
from ragadapt.errors import DataFormatError
from ragadapt.types import Passage

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = {"entity": 0.35, "template": 0.25, "facts": 0.4}

_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_SUBJ = r"(?P<subj>It|He|She|They|(?:The )?[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,4})"
_PRONOUNS = {"It", "He", "She", "They"}
_LOCATED = re.compile(_SUBJ + r" (?:is|was|are|were) (?:\w+ )?(?:located|situated|found|based) in (?:the )?"
                      r"(?P<place>[A-Z][\w'’-]*(?: [A-Z][\w'’-]*){0,3})")
_BY = re.compile(_SUBJ + r" (?:is|was) (?:\w+ )?(?P<verb>founded|written|"
                 r"directed|painted|designed|composed|built|discovered|invented|produced) by (?P<who>[A-Z][\w'’.-]*"
                 r"(?: (?:[A-Z][\w'’.-]*|de|da|van|von)){0,3})")
_COUNT = re.compile(_SUBJ + r" (?:has|had|have|comprises|contains|consists of|"
                    r"includes) (?:about |around |over |some )?(?P<n>\d[\d,]*|two|three|four|five|six|seven|eight|"
                    r"nine|ten|twelve) (?P<noun>[a-z]+s)\b")
_YEAR = r"(?:1[0-9]{3}|20[0-2][0-9])"
_SINCE = re.compile(_SUBJ + r" (?:was|were) (?:\w+ )?(?P<verb>founded|established|built|completed|opened|formed|"
                    r"created|discovered|invented|published|released|signed) in (?:\w+ ){0,3}?(?P<year>" + _YEAR + r")\b")
# a person's lead: "Name (1 May 1820 – 3 June 1901) was a German physicist ..."
_LIFE = re.compile(r"^(?P<subj>[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,4}) \((?:[^()]*?\b)?(?P<born>" + _YEAR +
                   r")\b[^()]*?[–-][^()]*?\b(?P<died>" + _YEAR + r")\)")
_NATIONALITY = re.compile(r"^(?P<subj>[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,4}) (?:\([^()]*\) )?(?:was|is) an? "
                          r"(?P<nat>[A-Z][a-z]{2,}(?:an|ese|ish|ch|i|ic))(?:-born)? (?:[a-z]+ )?(?P<job>[a-z]{4,}(?:er|ist|or|ian|ant|ent|"
                          r"et|ess))\b")
_CAPITAL = re.compile(r"^(?P<city>[A-Z][\w'’-]*(?: [A-Z][\w'’-]*){0,2}) is the capital (?:city )?(?:and (?:the )?"
                      r"largest city )?of (?:the )?(?P<place>[A-Z][\w'’-]*(?: [A-Z][\w'’-]*){0,3})")
_IN_YEAR = re.compile(r"^In (?P<year>1[0-9]{3}|20[0-2][0-9]), (?P<rest>[^,;]{12,140})\.$")


MAX_PER_KIND = 200


def fact_qa(passages: Sequence[Passage], stats: RecipeStats | None = None) -> list[QATriple]:
    """Where / who / how-many / when questions from any sentence of any chunk (later chunks too)."""
    stats = stats if stats is not None else RecipeStats()
    out = []
    def subject(m) -> str | None:
        """The sentence's subject, a pronoun read as the article's title (later sentences say "It ...")."""
        subj = m["subj"]
        if subj in _PRONOUNS:
            return p.title or None
        return subj if p.title and (p.title.split()[0] in subj or subj in p.title) else None

    for p in passages:
        stats.documents += p.id.endswith("#0")
        for sentence in _SENTENCES.split(p.text.strip()):
            sentence = sentence.strip()
            if (m := _LOCATED.match(sentence)) and (subj := subject(m)):
                out.append(QATriple(f"Where is {subj} located?", m["place"], p, "where"))
            elif (m := _BY.match(sentence)) and (subj := subject(m)):
                out.append(QATriple(f"Who {m['verb']} {subj}?", m["who"].rstrip("."), p, "who"))
            elif (m := _COUNT.match(sentence)) and (subj := subject(m)):
                out.append(QATriple(f"How many {m['noun']} does {subj} have?", m["n"], p, "how-many"))
            elif (m := _IN_YEAR.match(sentence)) and p.title and p.title.split()[0] in m["rest"]:
                out.append(QATriple(f"In what year did this happen: {m['rest']}?", m["year"], p, "when"))
            elif (m := _SINCE.match(sentence)) and (subj := subject(m)):
                out.append(QATriple(f"When was {subj} {m['verb']}?", m["year"], p, "when"))
            elif (m := _CAPITAL.match(sentence)) and m["city"] != m["place"]:
                out.append(QATriple(f"What is the capital of {m['place']}?", m["city"], p, "what"))
            elif m := _LIFE.match(sentence):
                out.append(QATriple(f"In what year was {m['subj']} born?", m["born"], p, "when"))
                out.append(QATriple(f"When did {m['subj']} die?", m["died"], p, "when"))
            if (m := _NATIONALITY.match(sentence)) and (subj := subject(m)):
                out.append(QATriple(f"What nationality was {subj}?", m["nat"], p, "which"))
    kept = [t for t in out if t.answer.lower() not in t.question.lower() or stats.reject("answer in the question")]
    per_kind: Counter = Counter()  # no kind crowds out the others (most lead sentences give a nationality)
    capped = []
    for t in kept:
        per_kind[t.kind] += 1
        if per_kind[t.kind] <= MAX_PER_KIND:
            capped.append(t)
        else:
            stats.reject(f"more than {MAX_PER_KIND} {t.kind} questions")
    stats.triples += len(capped)
    return capped


PARAPHRASE_SYSTEM = ("Rewrite the question with other words. Keep its meaning. Do not answer it. Reply with the "
                     "rewritten question only.")


def paraphrase_qa(generator, triples: Sequence[QATriple], stats: RecipeStats | None = None,
                  batch_size: int = 8) -> list[QATriple]:
    """Self-instruct paraphrases of `triples` by any Generator. A paraphrase is dropped when it is no question,
    repeats the original, gives the answer away, or when the generator, shown the passage, no longer answers
    it with the original answer (its meaning changed)."""
    from ragadapt.eval.metrics import answer_contains
    from ragadapt.prompts import RAGPrompt
    from ragadapt.types import Hit

    stats = stats if stats is not None else RecipeStats()
    prompts = [[{"role": "system", "content": PARAPHRASE_SYSTEM}, {"role": "user", "content": t.question}]
               for t in triples]
    rewrites = [r.strip().split("\n")[0] for r in generator.generate(prompts, max_new_tokens=40, batch_size=batch_size)]
    candidates = []
    for t, r in zip(triples, rewrites):
        if not r.endswith("?") or len(r.split()) < 3:
            stats.reject("paraphrase: not a question")
        elif r.lower().strip() == t.question.lower().strip():
            stats.reject("paraphrase: unchanged")
        elif t.answer.lower() in r.lower():
            stats.reject("paraphrase: gives the answer away")
        else:
            candidates.append(QATriple(r, t.answer, t.passage, f"paraphrase-{t.kind}", t.bridge))
    prompt = RAGPrompt()
    answers = generator.generate([prompt.messages(c.question, [Hit(c.passage, 1.0, 0)]) for c in candidates],
                                 max_new_tokens=24, batch_size=batch_size)
    kept = []
    for c, a in zip(candidates, answers):
        if answer_contains(a, [c.answer]):
            kept.append(c)
        else:
            stats.reject("paraphrase: answer changed")
    stats.triples += len(kept)
    return kept


def parse_mix(spec: str) -> dict[str, float]:
    """`mix` or `mix:style=weight,...` -> {style: weight}."""
    if spec == "mix":
        return dict(DEFAULT_WEIGHTS)
    weights = {}
    for item in spec.partition(":")[2].split(","):
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError as e:
            raise DataFormatError(f"mixture entry {item!r} is not style=weight", field="recipe") from e
    unknown = sorted(set(weights) - set(STYLES))
    if unknown or not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
        raise DataFormatError(f"bad mixture {spec!r}: styles are {', '.join(STYLES)} with weights >= 0 (not all 0)",
                              field="recipe")
    return weights


STYLES = {**RECIPES, "facts": fact_qa, "paraphrase": None}


def allocate(n: int, weights: dict[str, float], available: dict[str, int]) -> dict[str, int]:
    """`n` split by weight; a style with fewer triples than its share gives all it has and the rest is shared
    among the others by their weights."""
    shares = {s: 0 for s in weights}
    open_styles = {s for s, w in weights.items() if w > 0}
    left = n
    while left > 0 and open_styles:
        wsum = sum(weights[s] for s in open_styles)
        want = {s: left * weights[s] / wsum for s in open_styles}
        short = {s for s in open_styles if available[s] - shares[s] <= want[s]}
        if short:  # these give all they have; the others share what is left next round
            for s in short:
                left -= available[s] - shares[s]
                shares[s] = available[s]
            open_styles -= short
            continue
        floors = {s: int(want[s]) for s in open_styles}
        # largest remainders first, ties by name: a set's order changes with the string hash seed of each process
        for s in sorted(open_styles, key=lambda s: (floors[s] - want[s], s))[: left - sum(floors.values())]:
            floors[s] += 1
        for s in open_styles:
            shares[s] += floors[s]
        left = 0
    return shares


def wants_paraphrase(spec: str) -> bool:
    """The recipe is a mixture with a paraphrase style (which needs a generator)."""
    return (spec == "mix" or spec.startswith("mix:")) and parse_mix(spec).get("paraphrase", 0) > 0


def mixed_qa(passages: Sequence[Passage], spec: str = "mix", seed: int = 0, generator=None,
             stats: RecipeStats | None = None, n: int | None = None) -> tuple[list[QATriple], dict[str, int]]:
    """`n` triples (default: as many as the exact proportions allow) of several styles in proportion to their
    weights, a style with too few giving all it has; shuffled deterministically per seed. Returns them and the
    per-style counts (also logged)."""
    weights = parse_mix(spec)
    stats = stats if stats is not None else RecipeStats()
    pools: dict[str, list[QATriple]] = {}
    for style in weights:
        if style == "paraphrase":
            if generator is None:
                raise DataFormatError("the paraphrase style needs a generator (a routine passes the system's own)",
                                      field="recipe")
            base = RECIPES["template"](passages, RecipeStats())
            random.Random(seed).shuffle(base)
            pools[style] = paraphrase_qa(generator, base[:400], stats)
        else:
            pools[style] = STYLES[style](passages, stats)
    total = sum(len(p) for p in pools.values())
    wsum = sum(weights.values())
    if n is None:  # the largest total each style's pool allows at exactly these proportions
        n = min(total, int(min((len(pools[s]) * wsum / w for s, w in weights.items() if w > 0), default=0)))
    shares = allocate(min(n, total), weights, {s: len(p) for s, p in pools.items()})
    out, counts = [], {}
    for style in weights:
        pool = list(pools[style])
        random.Random(f"{seed}-{style}").shuffle(pool)
        out += pool[: shares[style]]
        counts[style] = shares[style]
    random.Random(seed).shuffle(out)
    log.info("QA mixture %s: %s (from %s available)", spec, counts, {s: len(p) for s, p in pools.items()})
    return out, counts
