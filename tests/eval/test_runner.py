import json

import pytest

from ragadapt.errors import DataFormatError
from ragadapt.eval import evaluate, load_qa_jsonl, relevance
from ragadapt.types import Hit, Passage, QAExample


def test_relevance_by_gold_and_by_answer():
    hits = [Hit(Passage(id="d1#0", text="x", doc_id="d1"), 0, 0), Hit(Passage(id="d1#1", text="Paris", doc_id="d1"), 0, 1),
            Hit(Passage(id="d2#0", text="y", doc_id="d2"), 0, 2)]
    assert relevance(QAExample("q", ["a"], gold_doc_ids=["d1", "d2"]), hits) == ([True, False, True], 2)
    assert relevance(QAExample("q", ["a"], gold_ids=["d1#1"]), hits) == ([False, True, False], 1)
    assert relevance(QAExample("q", ["paris"]), hits) == ([False, True, False], None)


def test_load_qa_errors(tmp_path):
    p = tmp_path / "qa.jsonl"
    p.write_text('{"question": "q", "answers": ["a"]}\n{"question": "q2"}\n')
    with pytest.raises(DataFormatError, match=r"qa\.jsonl:2: no reference answer.*'answers'"):
        load_qa_jsonl(p)
    p.write_text('{"question": "", "answer": "a"}\n')
    with pytest.raises(DataFormatError, match=r"qa\.jsonl:1: missing or empty question"):
        load_qa_jsonl(p)
    p.write_text('{"question": "q", "answer": "a", "gold_ids": 3}\n')
    with pytest.raises(DataFormatError, match="'gold_ids'"):
        load_qa_jsonl(p)


class FixedSystem:
    """A stand-in system with known retrieval and answers, so the report values are hand-checkable."""

    class config:
        batch_size, k, fetch_k = 2, 1, 5

    bridge = None

    def retrieve(self, questions, k):
        return [[Hit(Passage(id=f"{q}#0", text=q, doc_id=q), 1.0, 0), Hit(Passage(id="gold#0", text="", doc_id="gold"), 0.5, 1)]
                for q in questions]

    def answer_from_hits(self, questions, hits):
        from ragadapt.types import Answer

        return [Answer(q, "Paris" if q == "q1" else "Lyon", h[:1]) for q, h in zip(questions, hits)]


def test_evaluate_writes_report(tmp_path):
    examples = [QAExample("q1", ["Paris"], id="1", gold_doc_ids=["gold"]),
                QAExample("q2", ["Paris"], id="2", gold_doc_ids=["q2"]),
                QAExample("q3", ["Nice"], id="3", gold_doc_ids=["other"])]
    summary = evaluate(FixedSystem(), examples, ks=(1, 2), out_dir=tmp_path, show_progress=False)
    assert summary["n"] == 3 and summary["em"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["recall@1"] == pytest.approx(1 / 3, abs=1e-4) and summary["recall@2"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["mrr"] == pytest.approx((0.5 + 1) / 3, abs=1e-4)
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert rows[0]["prediction"] == "Paris" and rows[0]["relevant_ranks"] == [2]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report.pop("provenance")["time"] and report == summary  # every report says what was run and when
