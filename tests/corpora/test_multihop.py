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


YEARS = [
    lead("Dune", "Dune is a 1965 epic science fiction novel by American author Frank Herbert."),
    lead("Lolita", "Lolita is a 1955 novel written by Vladimir Nabokov. It was published in Paris."),
    lead("Metallica", "Metallica is an American heavy metal band. It was formed in Los Angeles in 1981 by James."),
    lead("Facebook", "Facebook is a social media service. It was founded in 2004 by Mark Zuckerberg."),
    lead("Playboy", "Playboy is an American magazine. It was founded in Chicago in 1953 by Hugh Hefner."),
    lead("Google", "Google is a search engine. Its founders were Page and Brin."),  # no year: no fact
    lead("Ulysses (novel)", "Ulysses is a modernist novel. It was first published in 1922 in Paris."),
]


def test_year_facts_read_the_subjects_years_by_kind():
    from ragadapt.corpora.multihop import year_facts

    facts = {verb: sorted((t, y) for t, y, _ in fs) for verb, fs in year_facts(YEARS).items()}
    assert facts == {"published": [("Dune", 1965), ("Lolita", 1955), ("Ulysses", 1922)],
                     "formed": [("Metallica", 1981)], "founded": [("Facebook", 2004), ("Playboy", 1953)]}


def test_comparison_questions_name_both_articles_and_compare_their_years():
    from ragadapt.corpora.multihop import comparison_qa

    stats = RecipeStats()
    triples = comparison_qa(YEARS, stats, seed=3)
    years = {"Dune": 1965, "Lolita": 1955, "Ulysses": 1922, "Facebook": 2004, "Playboy": 1953}
    assert len(triples) == 3 == stats.triples  # published: 3 articles -> 2 neighbour pairs; founded: 1
    assert {t.kind for t in triples} == {"comparison-first", "comparison-yes-no", "comparison-years"}
    for t in triples:
        a, b = t.bridge.title.split(" (")[0], t.passage.title.split(" (")[0]
        assert a in t.question and b in t.question and len(t.doc_ids) == 2 and t.bridge.doc_id != t.passage.doc_id
        if t.kind == "comparison-first":
            assert t.answer == min((a, b), key=years.get)
        elif t.kind == "comparison-yes-no":
            assert t.answer == ("yes" if years[a] < years[b] else "no")
        else:
            assert t.answer == str(years[b] - years[a]) and int(t.answer) > 0
    assert comparison_qa(YEARS, seed=3) == triples  # deterministic per seed
