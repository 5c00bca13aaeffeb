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
