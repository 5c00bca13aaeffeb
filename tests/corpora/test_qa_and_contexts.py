"""QA recipes, document-level splits and the five context perturbations, on hand-made passages."""

import pytest

from ragadapt.corpora.contexts import ABSTAIN, ContextBuilder, conflict_target, edit_passage, window_around
from ragadapt.corpora.qa_recipes import QATriple, RecipeStats, entity_qa, llm_qa, split_by_document, template_qa
from ragadapt.errors import DataFormatError
from ragadapt.types import Passage

SEURAT = Passage(id="jatte#0", title="La Grande Jatte", doc_id="jatte",
                 text="La Grande Jatte is a painting by Georges Seurat. La Grande Jatte was painted in 1884 by Seurat.")
EIFFEL = Passage(id="eiffel#0", title="Eiffel Tower", doc_id="eiffel",
                 text="Eiffel Tower is a lattice tower in Paris. It was completed in 1889 by Gustave Eiffel.")
NEG = [Passage(id=f"n{i}#0", title=f"N{i}", doc_id=f"n{i}", text=f"Negative passage number {i} about rivers.")
       for i in range(4)]


def test_template_recipe_exact():
    stats = RecipeStats()
    triples = template_qa([SEURAT, EIFFEL], stats)
    assert [(t.kind, t.question, t.answer) for t in triples] == [
        ("definition", "What is La Grande Jatte?", "painting"),
        ("year", "La Grande Jatte was painted in what year by Seurat?", "1884"),
        ("definition", "What is Eiffel Tower?", "lattice tower in Paris"),  # the year sentence lacks the title
    ]
    assert stats.documents == 2 and stats.triples == 3


def test_entity_recipe_asks_for_the_title_without_naming_it():
    mahmud = Passage(id="m#0", title="Mahmud II", doc_id="m", text="Mahmud II was the sultan of the Ottoman Empire "
                     "from 1808 until his death in 1839. He reformed the army.")
    java = Passage(id="j#0", title="Java (programming language)", doc_id="j",
                   text="Java is a high-level, general-purpose programming language with classes. It is typed.")
    short = Passage(id="s#0", title="Ant", doc_id="s", text="Ant is an insect. Ants live in colonies.")
    naming = Passage(id="n#0", title="Ra", doc_id="n", text="Ra is the god worshipped as Ra in the city of Heliopolis.")
    stats = RecipeStats()
    triples = entity_qa([mahmud, java, short, naming, EIFFEL], stats)
    assert [(t.question, t.answer) for t in triples] == [
        ("Who was the sultan of the Ottoman Empire from 1808 until his death in 1839?", "Mahmud II"),
        ("What is the high-level, general-purpose programming language with classes?", "Java"),
    ]
    assert stats.rejected == {"description too short or too long": 2, "question contains the answer": 1}


class Scripted:
    def __init__(self, replies):
        self.replies = replies

    def generate(self, prompts, **kw):
        return self.replies[: len(prompts)]


def test_llm_recipe_filters_bad_items():
    p = [SEURAT] * 5
    replies = ["Question: Who painted La Grande Jatte?\nAnswer: Georges Seurat",          # kept
               "Question: Who painted it?\nAnswer: Claude Monet",                          # not in passage
               "no idea",                                                                   # unparseable
               "Question: Is it by Georges Seurat?\nAnswer: Georges Seurat",               # gives it away
               "Question: Who painted La Grande Jatte?\nAnswer: georges seurat"]           # duplicate
    stats = RecipeStats()
    triples = llm_qa(Scripted(replies), p, stats=stats)
    assert [(t.question, t.answer) for t in triples] == [("Who painted La Grande Jatte?", "Georges Seurat")]
    assert stats.answer_not_in_passage == 1
    assert stats.rejected == {"unparseable": 1, "question contains the answer": 1, "duplicate": 1}


def test_split_by_document_never_leaks():
    triples = [QATriple(f"q{i}", "a", Passage(id=f"d{i % 7}#{i}", text="a", doc_id=f"d{i % 7}")) for i in range(70)]
    train, test = split_by_document(triples, 0.3, seed=1)
    assert train and test and len(train) + len(test) == 70
    assert not {t.passage.doc_id for t in train} & {t.passage.doc_id for t in test}
    assert split_by_document(triples, 0.3, seed=1) == (train, test)


def fixed_negatives(triples, k):
    return [NEG[:k] for _ in triples]


TRIPLES = [QATriple("Who painted La Grande Jatte?", "Georges Seurat", SEURAT, "person"),
           QATriple("Who built the Eiffel Tower?", "Gustave Eiffel", EIFFEL, "person")]


def test_each_perturbation_exact():
    builder = ContextBuilder(fixed_negatives, k=3, seed=0)
    examples = {e.kind: e for e in builder.build(TRIPLES[:1] + TRIPLES[1:], all_kinds=True) if e.doc_id == "jatte"}
    clean = examples["clean"]
    assert [p.id for p in clean.passages] == ["jatte#0", "n0#0", "n1#0"] and clean.target == "Georges Seurat"
    noisy = examples["noisy"]
    assert sorted(p.id for p in noisy.passages) == ["jatte#0", "n0#0", "n1#0", "n2#0"] and noisy.target == "Georges Seurat"
    cf = examples["counterfactual"]
    assert cf.passages[0].id == "jatte#0#cf"
    assert cf.passages[0].text == "La Grande Jatte is a painting by Gustave Eiffel. La Grande Jatte was painted in 1884 by Seurat."
    assert (cf.target, cf.original, cf.edited) == ("Gustave Eiffel", "Georges Seurat", "Gustave Eiffel")
    un = examples["unanswerable"]
    assert [p.id for p in un.passages] == ["n0#0", "n1#0", "n2#0"] and un.target == ABSTAIN
    conflict = examples["conflicting"]
    assert sorted(p.id for p in conflict.passages) == ["jatte#0", "jatte#0#cf", "n0#0"]
    assert conflict.target == conflict_target("Georges Seurat", "Gustave Eiffel")
    assert builder.stats.built == {k: 2 for k in builder.stats.built}


def test_a_one_passage_system_is_not_judged_on_conflicting_pairs():
    """Held-out kinds follow k: a conflicting pair (two passages) is never shown by a k=1 system."""
    one = ContextBuilder(fixed_negatives, k=1, seed=0).build(TRIPLES, all_kinds=True)
    assert {e.kind for e in one} == {"clean", "noisy", "counterfactual", "unanswerable"}
    assert all(len(e.passages) == 1 for e in one if e.kind != "noisy")
    two = ContextBuilder(fixed_negatives, k=2, seed=0).build(TRIPLES, all_kinds=True)
    assert "conflicting" in {e.kind for e in two}


def test_deterministic_and_ratios():
    many = [QATriple(f"Q{i}?", t.answer, t.passage, t.kind) for i in range(40) for t in TRIPLES]
    a = [e.to_dict() for e in ContextBuilder(fixed_negatives, seed=3).build(many)]
    b = [e.to_dict() for e in ContextBuilder(fixed_negatives, seed=3).build(many)]
    assert a == b
    only = ContextBuilder(fixed_negatives, ratios={"unanswerable": 1.0}).build(many)
    assert {e.kind for e in only} == {"unanswerable"}
    with pytest.raises(DataFormatError, match="unknown context kind"):
        ContextBuilder(fixed_negatives, ratios={"sarcastic": 1.0})



def test_paired_kinds_come_with_a_clean_twin():
    """A paired kind's question is also shown with its gold passage, so the question alone cannot decide."""
    many = [QATriple(f"Q{i}?", t.answer, t.passage, t.kind) for i in range(20) for t in TRIPLES]
    ratios = {"clean": 0.5, "unanswerable": 0.5}
    plain = ContextBuilder(fixed_negatives, ratios=ratios, seed=1).build(many)
    paired = ContextBuilder(fixed_negatives, ratios=ratios, seed=1, paired=["unanswerable"]).build(many)
    unanswerable = [e for e in paired if e.kind == "unanswerable"]
    assert unanswerable and [e.to_dict() for e in unanswerable] == [e.to_dict() for e in plain if e.kind == "unanswerable"]
    assert len(paired) == len(plain) + len(unanswerable)
    for i, e in enumerate(paired):  # each abstention example right after its twin: same question, the gold passage
        if e.kind == "unanswerable":
            twin = paired[i - 1]
            assert twin.kind == "clean" and twin.question == e.question and twin.target == e.original
    with pytest.raises(DataFormatError, match="paired"):
        ContextBuilder(fixed_negatives, paired=["clean"])

def test_edit_and_window():
    edited = edit_passage(SEURAT, "Seurat", "Monet")
    assert edited.text.count("Monet") == 2 and "Seurat" not in edited.text
    with pytest.raises(DataFormatError, match="not found"):
        edit_passage(SEURAT, "Picasso", "Monet")
    long = Passage(id="l", text=" ".join(f"w{i}" for i in range(300)) + " ANSWER " + " ".join(f"x{i}" for i in range(300)))
    cut = window_around(long, "ANSWER", 200)
    assert "ANSWER" in cut.text and len(cut.text) <= 200 and long.text[cut.start:cut.end] == cut.text


def test_too_small_corpus_says_so():
    with pytest.raises(DataFormatError, match="too small to find negatives"):
        ContextBuilder(lambda triples, k: [[] for _ in triples]).build(TRIPLES)


def test_roundtrip_dict():
    from ragadapt.corpora.contexts import ContextExample

    e = ContextBuilder(fixed_negatives).build(TRIPLES, all_kinds=True)[2]
    assert ContextExample.from_dict(e.to_dict()) == e
    assert QATriple.from_dict(TRIPLES[0].to_dict()) == TRIPLES[0]
