"""Two-hop bridge questions: B is found through A, the answer is in B and not in A, held out as a pair."""

from ragadapt.corpora.multihop import title_mentions, two_hop_qa
from ragadapt.corpora.qa_recipes import QATriple, RecipeStats, held_out_documents, split_by_document
from ragadapt.types import Passage


def lead(title, text):
    return Passage(f"{title}-0", text, title, doc_id=title)


CORPUS = [
    lead("Mona Lisa", "The Mona Lisa is a half-length portrait painting by Italian artist Leonardo da Vinci. It hangs "
                      "in the Louvre."),
    lead("Leonardo da Vinci", "Leonardo da Vinci was an Italian polymath of the High Renaissance. He was born in 1452 "
                              "in Vinci."),
    lead("Louvre", "The Louvre is a national art museum in Paris, France. It opened in 1793 as a museum."),
    lead("Paris", "Paris is the capital and largest city of France. Paris has been a major centre since 1200."),
    lead("Vinci", "Vinci is a town in Tuscany. It is known for Leonardo da Vinci."),
]


def test_title_mentions_whole_words_longest_first_not_the_subject():
    titles = {"Leonardo da Vinci", "Vinci", "Paris", "France", "Mona Lisa"}
    found = title_mentions("The Mona Lisa is by Leonardo da Vinci, who lived in Paris.", titles)
    assert [t for _, _, t in found] == ["Mona Lisa", "Leonardo da Vinci", "Vinci", "Paris"]
    assert title_mentions("Paris is a city.", titles) == []  # the subject is not a bridge
    assert title_mentions("A trip to Parisian cafes.", titles) == []  # whole words only


def test_two_hop_questions_go_through_the_bridge():
    stats = RecipeStats()
    triples = {t.bridge.title: t for t in two_hop_qa(CORPUS, stats)}
    mona = triples["Mona Lisa"]
    assert mona.passage.title == "Leonardo da Vinci" and mona.kind == "two-hop-definition"
    assert mona.answer == "Italian polymath of the High Renaissance"
    assert mona.question == ('What was X? (X is the name left out of: "The Mona Lisa is a half-length portrait '
                             'painting by Italian artist X.")')
    assert "Leonardo" not in mona.question and mona.doc_ids == ["Mona Lisa", "Leonardo da Vinci"]
    louvre = triples["Louvre"]  # "The Louvre is a national art museum in Paris, France." -> Paris (longest)
    assert louvre.passage.title == "Paris" and louvre.answer not in CORPUS[2].text
    assert stats.triples == len(triples) and stats.rejected  # e.g. Paris's first sentence names no bridge
    again = QATriple.from_dict(mona.to_dict())
    assert again.bridge == mona.bridge and again.id == mona.id == "two-hop-definition-Leonardo da Vinci-0-via-Mona Lisa-0"


def test_split_holds_out_a_question_when_either_document_is_held_out():
    triples = two_hop_qa(CORPUS)
    for seed in range(5):
        held = held_out_documents(triples, 0.4, seed)
        train, test = split_by_document(triples, test_fraction=0.4, seed=seed)
        assert all(not held.intersection(t.doc_ids) for t in train)  # neither document seen in training
        assert all(held.intersection(t.doc_ids) for t in test) and len(train) + len(test) == len(triples)
