"""The QA mixture: styles in proportion to their weights, deterministic per seed, per-style counts; question
kinds from later sentences; paraphrases that change the answer or give it away are dropped."""

import pytest

from ragadapt.corpora.qa_mix import fact_qa, mixed_qa, paraphrase_qa, parse_mix
from ragadapt.corpora.qa_recipes import QATriple
from ragadapt.errors import DataFormatError
from ragadapt.types import Passage


def _passages(n=60):
    out = []
    for i in range(n):
        title = f"Town{i}"
        text = (f"{title} is a small town in the north of the valley of rivers. It was founded by Anna Berg{i} in "
                f"{1700 + i}. It is located in Region{i % 7}. It has {i + 3} bridges over its river.")
        out.append(Passage(id=f"{title}#0", text=text, title=title, doc_id=title))
    return out


def test_facts_come_from_later_sentences_with_the_article_as_subject():
    triples = fact_qa(_passages(3))
    kinds = {t.kind for t in triples}
    assert {"who", "where", "how-many"} <= kinds
    who = next(t for t in triples if t.kind == "who")
    assert who.question == "Who founded Town0?" and who.answer == "Anna Berg0"


def test_mixture_proportions_determinism_and_counts():
    passages = _passages()
    a, counts = mixed_qa(passages, "mix:template=0.5,facts=0.5", seed=3, n=60)
    b, _ = mixed_qa(passages, "mix:template=0.5,facts=0.5", seed=3, n=60)
    c, _ = mixed_qa(passages, "mix:template=0.5,facts=0.5", seed=4, n=60)
    assert [t.question for t in a] == [t.question for t in b]  # deterministic per seed
    assert [t.question for t in a] != [t.question for t in c]
    assert counts == {"template": 30, "facts": 30}
    facts = {"who", "where", "how-many", "when"}
    assert sum(t.kind in facts for t in a) == 30
    _, strict = mixed_qa(passages, "mix:template=0.25,facts=0.75", seed=3)  # exact proportions by default
    assert strict["facts"] == pytest.approx(3 * strict["template"], abs=1)
    with pytest.raises(DataFormatError, match="styles are"):
        parse_mix("mix:poetry=1")


class Scripted:
    """Rewrites by a table; answers from the passage only when the question still asks for the founder."""

    def __init__(self, rewrites):
        self.rewrites = rewrites

    def generate(self, prompts, max_new_tokens=40, batch_size=8, **_):
        out = []
        for p in prompts:
            user = p[-1]["content"]
            if p[0]["content"].startswith("Rewrite"):
                out.append(self.rewrites[user])
            else:
                question = user.rsplit("Question:", 1)[-1]  # the passage itself says "founded"
                out.append("Anna Berg0" if "established" in question or "founded" in question else "Region0")
        return out


def test_paraphrases_that_change_or_leak_the_answer_are_dropped():
    p = _passages(1)[0]
    triples = [QATriple("Who founded Town0?", "Anna Berg0", p, "who")] * 4
    generator = Scripted({"Who founded Town0?": None})
    rewrites = ["Who established the town of Town0?",  # kept: same answer
                "Where is Town0?",  # dropped: the generator's answer changed
                "Did Anna Berg0 found Town0?",  # dropped: gives the answer away
                "Town0"]  # dropped: not a question
    kept = []
    for r in rewrites:
        generator.rewrites = {"Who founded Town0?": r}
        kept += paraphrase_qa(generator, triples[:1])
    assert [t.question for t in kept] == ["Who established the town of Town0?"]
    assert kept[0].kind == "paraphrase-who"


def test_a_short_style_gives_all_it_has_and_the_rest_is_shared():
    from ragadapt.corpora.qa_mix import allocate

    assert allocate(100, {"a": 0.5, "b": 0.5}, {"a": 10, "b": 500}) == {"a": 10, "b": 90}
    assert allocate(9, {"a": 1, "b": 1, "c": 1}, {"a": 9, "b": 9, "c": 9}) == {"a": 3, "b": 3, "c": 3}
    assert sum(allocate(50, {"a": 0.2, "b": 0.8}, {"a": 5, "b": 5}).values()) == 10  # no more than there is


def test_a_routine_with_a_paraphrase_style_has_its_system_generator_write_them(tmp_path, monkeypatch):
    """routine_questions loads the system's own generator for the paraphrase style, and only then."""
    from types import SimpleNamespace

    from ragadapt.training.retrieval.data import routine_questions

    loaded = []

    def from_pretrained(name, **kw):
        loaded.append(name)
        return _Paraphraser()

    monkeypatch.setattr("ragadapt.generation.TransformersGenerator.from_pretrained", from_pretrained)
    monkeypatch.setattr("ragadapt.training.compose.generator_source", lambda system, override=None: "the-generator")
    system = SimpleNamespace(retriever=SimpleNamespace(store=SimpleNamespace(passages=_passages(40))))
    cfg = SimpleNamespace(recipe="mix:facts=1,paraphrase=1", max_train=30, max_test=10, test_fraction=0.25, seed=0,
                          system="sys")
    train, test = routine_questions(cfg, system, tmp_path / "a")
    styles = {e.meta["style"] for e in train + test}
    assert loaded == ["the-generator"] and any(s.startswith("paraphrase-") for s in styles)
    cfg.recipe = "mix:facts=1"
    routine_questions(cfg, system, tmp_path / "b")
    assert loaded == ["the-generator"]  # no paraphrase style: no generator loaded


class _Paraphraser:
    """Rewords every question and answers from the passage it is shown (so every paraphrase is kept)."""

    def generate(self, prompts, **_):
        if prompts[0][0]["content"].startswith("Rewrite"):
            return ["Tell me: " + p[-1]["content"].lower() for p in prompts]
        return ["small town in the north" for _ in prompts]


def test_facts_ask_when_what_and_which_too():
    p = Passage(id="Oslo#0", doc_id="Oslo", title="Oslo", text=(
        "Oslo is the capital and largest city of Norway. It was founded in 1040 by the king. "
        "Edvard Munch was a Norwegian painter whose work shaped expressionism."))
    munch = Passage(id="Munch#0", doc_id="Munch", title="Edvard Munch", text=p.text.split(". ", 2)[2])
    questions = {(t.question, t.answer) for t in fact_qa([p, munch])}
    assert ("What is the capital of Norway?", "Oslo") in questions
    assert ("When was Oslo founded?", "1040") in questions
    assert ("What nationality was Edvard Munch?", "Norwegian") in questions


def test_allocation_does_not_depend_on_the_hash_seed():
    """Equal remainders are broken by style name, not by a set's order (which changes with PYTHONHASHSEED, i.e.
    between two runs of the same config)."""
    import os
    import subprocess
    import sys

    code = ("from ragadapt.corpora.qa_mix import allocate; "
            "print(allocate(270, {'entity': 1, 'template': 1, 'facts': 1, 'x': 1}, "
            "{'entity': 999, 'template': 999, 'facts': 999, 'x': 999}))")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(6)}
    assert len(seen) == 1, seen
