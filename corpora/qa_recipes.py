"""QA triples (question, answer, gold passage) from any corpus, without a hub.

Recipes:
  template_qa  patterns over the first sentences of each document ("X is a Y" -> "What is X?" / "Y";
               "... in 1889 ..." -> a year question). Deterministic, fast, answers are exact spans.
  entity_qa    the reverse, Jeopardy style: "X is a Y that Z." -> "What is the Y that Z?" / "X". The question
               does not name the document, so finding it takes real retrieval (retriever training data).
  llm_qa       self-instruct: any Generator writes "Question: ... Answer: ..." for a passage; items whose
               answer is not a span of the passage, or whose question gives the answer away, are dropped.
  two_hop_qa   bridge questions that need two articles (ragadapt.corpora.multihop).
  comparison_qa  questions that name two articles and compare a year of each (ragadapt.corpora.multihop).
Every triple keeps its source document id, so `split_by_document` can hold out whole documents.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from ragadapt.types import Passage

log = logging.getLogger(__name__)


@dataclass
class QATriple:
    question: str
    answer: str
    passage: Passage  # where the answer is
    kind: str = ""  # which pattern (or "llm") made it: counterfactual edits swap answers of the same kind
    bridge: Passage | None = None  # two-hop questions: the passage that leads to `passage`

    @property
    def doc_ids(self) -> list[str]:
        """Every document the question needs, bridge first."""
        return ([self.bridge.doc_id] if self.bridge else []) + [self.passage.doc_id]

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.passage.id}" + (f"-via-{self.bridge.id}" if self.bridge else "")

    def to_dict(self) -> dict:
        d = {"question": self.question, "answer": self.answer, "kind": self.kind, "passage": asdict(self.passage)}
        return {**d, "bridge": asdict(self.bridge)} if self.bridge else d

    @classmethod
    def from_dict(cls, d: dict) -> QATriple:
        bridge = Passage.from_dict(d["bridge"]) if d.get("bridge") else None
        return cls(d["question"], d["answer"], Passage.from_dict(d["passage"]), d.get("kind", ""), bridge)


@dataclass
class RecipeStats:
    documents: int = 0
    triples: int = 0
    answer_not_in_passage: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_DEFINITION = re.compile(r"^(?P<subj>.+?) (?P<verb>is|was|are|were) (?:a|an|the) (?P<np>[^,.;()]+)")
_YEAR = re.compile(r"\b(?:in|In) (?P<year>1[0-9]{3}|20[0-2][0-9])\b")


_CLAUSE = re.compile(r"(?<![\w-])(?:that|which|who|whose|where|when|known|located|characterized|characterised|used|"
                     r"based|provided|consisting|made|found|considered|through|with|by|for|and|between|within|"
                     r"during|since|to|as)(?![\w-])")
_DANGLING = {"of", "in", "on", "at", "from", "the", "a", "an", "their", "its", "his", "her", "or"}


def _short_np(np: str, max_words: int = 6) -> str | None:
    """A definitional noun phrase kept short: cut at clause markers, <= max_words words, no dangling
    preposition ("area of mathematics" stays whole; "city in the north of..." becomes "city")."""
    np = _CLAUSE.split(np)[0].strip()
    words = np.split()[:max_words]
    while words and (words[-1].lower() in _DANGLING or (len(words) > 1 and words[-1].endswith("ed"))):
        words.pop()
    return " ".join(words) if words else None


def template_qa(passages: Iterable[Passage], stats: RecipeStats | None = None) -> list[QATriple]:
    """Definition and year questions from the first two sentences of each passage (one chunk per doc)."""
    stats = stats if stats is not None else RecipeStats()
    out: list[QATriple] = []
    seen_docs: set[str] = set()
    for p in passages:
        if p.doc_id in seen_docs:  # the lead chunk only: later chunks repeat the subject less clearly
            continue
        seen_docs.add(p.doc_id)
        stats.documents += 1
        sentences = _SENTENCE.split(p.text.strip())[:2]
        first = sentences[0] if sentences else ""
        m = _DEFINITION.match(first)
        if m and p.title and (m.group("subj").startswith(p.title) or p.title.startswith(m.group("subj"))):
            np = _short_np(m.group("np"))
            if np and len(np) >= 4:
                verb = "was" if m.group("verb") in ("was", "were") else "is"
                out.append(QATriple(f"What {verb} {p.title}?", np, p, "definition"))
            else:
                stats.reject("definition too long or empty")
        for sentence in sentences:
            y = _YEAR.search(sentence)
            if y and p.title and p.title.lower() in sentence.lower() and len(sentence) < 220:
                question = sentence[: y.start()].rstrip(" ,") + " in what year" + sentence[y.end():].rstrip(".") + "?"
                out.append(QATriple(question.strip(), y.group("year"), p, "year"))
                break
    for t in out:
        if t.answer not in t.passage.text:
            stats.answer_not_in_passage += 1
    kept = [t for t in out if t.answer in t.passage.text]
    stats.triples += len(kept)
    log.info("template QA: %d triples from %d documents (%s)", len(kept), stats.documents, stats.rejected)
    return kept


_ENTITY_DEFINITION = re.compile(r"^(?P<subj>.+?) (?P<verb>is|was|are|were) (?:a|an|the) (?P<rest>[^;]+?)\.?$")
_PERSON = re.compile(r"\b(?:he|she|his|her)\b")
_PARENTHESES = re.compile(r"\s*\([^)]*\)")


def entity_qa(passages: Iterable[Passage], stats: RecipeStats | None = None, min_words: int = 5,
              max_words: int = 35) -> list[QATriple]:
    """"Who/What is the <description>?" -> the document's title (parentheses dropped), from the first
    sentence of each document's lead passage. Kept only when the description has `min_words`..`max_words`
    words and does not contain the answer."""
    stats = stats if stats is not None else RecipeStats()
    out: list[QATriple] = []
    seen_docs: set[str] = set()
    for p in passages:
        if p.doc_id in seen_docs or not p.title:
            continue
        seen_docs.add(p.doc_id)
        stats.documents += 1
        first = (_SENTENCE.split(p.text.strip()) or [""])[0]
        m = _ENTITY_DEFINITION.match(first)
        answer = _PARENTHESES.sub("", p.title).strip()
        if not m or not (m.group("subj").startswith(answer) or answer.startswith(_PARENTHESES.sub("", m.group("subj")))):
            stats.reject("no 'X is a ...' first sentence")
            continue
        rest = m.group("rest").strip()
        if not min_words <= len(rest.split()) <= max_words:
            stats.reject("description too short or too long")
        elif answer.lower() in rest.lower():
            stats.reject("question contains the answer")
        elif answer not in p.text:
            stats.answer_not_in_passage += 1
        else:
            wh = "Who" if _PERSON.search(p.text[:600]) else "What"
            verb = "was" if m.group("verb") in ("was", "were") else "is"
            out.append(QATriple(f"{wh} {verb} the {rest}?", answer, p, "entity"))
    stats.triples += len(out)
    log.info("entity QA: %d triples from %d documents (%s)", len(out), stats.documents, stats.rejected)
    return out


def two_hop_qa(passages: Iterable[Passage], stats: RecipeStats | None = None) -> list[QATriple]:
    """Two-hop bridge questions (ragadapt.corpora.multihop)."""
    from ragadapt.corpora.multihop import two_hop_qa as build

    return build(passages, stats)


def comparison_qa(passages: Iterable[Passage], stats: RecipeStats | None = None) -> list[QATriple]:
    """Two-article comparison questions: which first / before / how many years (ragadapt.corpora.multihop)."""
    from ragadapt.corpora.multihop import comparison_qa as build

    return build(passages, stats)


RECIPES = {"template": template_qa, "entity": entity_qa, "two-hop": two_hop_qa, "comparison": comparison_qa}


LLM_PROMPT = ("Write one question that the passage answers, and its short answer copied from the passage.\n\n"
              "Passage: {text}\n\nReply exactly as:\nQuestion: <question>\nAnswer: <answer>")
_QA_REPLY = re.compile(r"Question:\s*(?P<q>.+?)\s*\n+\s*Answer:\s*(?P<a>.+)", re.IGNORECASE | re.DOTALL)


def llm_qa(generator, passages: Sequence[Passage], max_answer_words: int = 8, temperature: float = 0.0,
           batch_size: int = 8, stats: RecipeStats | None = None) -> list[QATriple]:
    """Self-instruct QA with any Generator, filtered: parseable, answer a span of the passage (case-
    insensitive), short, not inside the question, question ends with '?', no duplicates."""
    stats = stats if stats is not None else RecipeStats()
    prompts = [[{"role": "user", "content": LLM_PROMPT.format(text=p.text)}] for p in passages]
    replies = generator.generate(prompts, max_new_tokens=64, temperature=temperature, batch_size=batch_size)
    out, seen = [], set()
    for p, reply in zip(passages, replies):
        stats.documents += 1
        m = _QA_REPLY.search(reply)
        if not m:
            stats.reject("unparseable")
            continue
        q, a = m.group("q").strip(), m.group("a").strip().split("\n")[0].strip().rstrip(".")
        at = p.text.lower().find(a.lower()) if a else -1
        if at < 0:
            stats.answer_not_in_passage += 1
            continue
        a = p.text[at:at + len(a)]  # the passage's own spelling
        if len(a.split()) > max_answer_words:
            stats.reject("answer too long")
        elif a.lower() in q.lower():
            stats.reject("question contains the answer")
        elif not q.endswith("?"):
            stats.reject("not a question")
        elif (q.lower(), a.lower()) in seen:
            stats.reject("duplicate")
        else:
            seen.add((q.lower(), a.lower()))
            out.append(QATriple(q, a, p, "llm"))
    stats.triples += len(out)
    return out


def held_out_documents(triples: Sequence[QATriple], test_fraction: float = 0.2, seed: int = 0) -> set[str]:
    """A random `test_fraction` of the answer documents."""
    docs = sorted({t.passage.doc_id for t in triples})
    random.Random(seed).shuffle(docs)
    return set(docs[: max(1, round(len(docs) * test_fraction))]) if docs else set()


def split_by_document(triples: Sequence[QATriple], test_fraction: float = 0.2,
                      seed: int = 0) -> tuple[list[QATriple], list[QATriple]]:
    """Hold out whole documents: no test question's document (any of its passages) is seen in training.
    A question that needs several documents is held out when any of them is (two-hop)."""
    test_docs = held_out_documents(triples, test_fraction, seed)
    train = [t for t in triples if not test_docs.intersection(t.doc_ids)]
    test = [t for t in triples if test_docs.intersection(t.doc_ids)]
    return train, test
