import json

from ragadapt.corpora.wiki import load_wiki
from ragadapt.corpora.wiki_qa import default_qa_path
from ragadapt.eval import answer_contains, load_qa_jsonl


def test_bundled_wikipedia_corpus():
    docs = {d.id: d for d in load_wiki()}
    assert len(docs) > 10_000
    jatte = docs["A Sunday Afternoon on the Island of La Grande Jatte"]
    assert "Seurat" in jatte.text and jatte.meta["topic"] == "Arts"


def test_dev_questions_are_answerable_from_their_gold_article():
    docs = {d.id: d for d in load_wiki()}
    examples = load_qa_jsonl(default_qa_path())
    assert len(examples) == 30
    for ex in examples:
        gold = docs[ex.gold_doc_ids[0]]
        assert answer_contains(gold.text, ex.answers), json.dumps(ex.to_dict())


def test_handwritten_dev_set_is_big_varied_and_split_by_article():
    import json

    from ragadapt.corpora.wiki_qa import handwritten, handwritten_path

    rows = [json.loads(line) for line in handwritten_path().read_text().splitlines()]
    assert sum(r["hops"] == 1 for r in rows) >= 200 and sum(r["hops"] == 2 for r in rows) >= 60
    assert len({r["kind"] for r in rows}) >= 10  # who / when / how-many / yes-no / comparison / bridge ...
    select, test = handwritten("dev-select"), handwritten("dev-test")
    assert len(select) + len(test) == len(rows) and len(test) >= 100
    first = lambda examples: {e.gold_doc_ids[0] for e in examples}  # noqa: E731
    assert not first(select) & first(test)  # a question goes with its first article
    assert all(e.meta["hops"] == 2 for e in handwritten("dev-test", hops=2))
    docs = {d.id: f"{d.title} {d.text}" for d in load_wiki()}
    for r in rows:  # every answer occurs in one of its gold articles (yes/no and computed answers aside)
        assert all(d in docs for d in r["gold_doc_ids"]), r
        if r["kind"] not in ("yes-no", "computed"):
            assert any(answer_contains(docs[d], r["answers"]) for d in r["gold_doc_ids"]), r


def test_decontamination_counts_a_planted_leak():
    from ragadapt.corpora.wiki_qa import decontaminate, dev_test_articles
    from ragadapt.types import QAExample

    leaked = sorted(dev_test_articles())[0]
    examples = [QAExample("q1", ["a"], gold_doc_ids=[leaked]), QAExample("q2", ["b"], gold_doc_ids=["Nowhere"]),
                QAExample("q3", ["c"], gold_doc_ids=["Nowhere", leaked])]
    kept, removed = decontaminate(examples, lambda e: e.gold_doc_ids)
    assert removed == 2 and [e.question for e in kept] == ["q2"]
