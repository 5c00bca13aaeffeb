"""Greedy silver sequences on a fake generator whose preferences are known exactly."""

import re

import torch

from ragadapt.bridges.silver import greedy_silver, likelihood_scorer, silver_sequences
from ragadapt.prompts import RAGPrompt
from ragadapt.types import Passage

UTILITY = {"A": 5.0, "B": 4.0, "C": -1.0, "D": 0.5, "E": -2.0}


class PreferenceLM:
    """log P(answer | prompt) = -10 + sum of the passages' utilities, -4.5 when A and B are both shown
    (they repeat each other). Counts its batched calls."""

    def __init__(self):
        self.calls = 0

    def count_tokens(self, text):
        return len(text.split())

    def loglikelihood(self, prompts, targets, reduction="sum", batch_size=8):
        self.calls += 1
        out = []
        for messages in prompts:
            titles = re.findall(r"\[\d+\] (\w+)", messages[-1]["content"])
            out.append(-10 + sum(UTILITY[t] for t in titles) - (4.5 if {"A", "B"} <= set(titles) else 0.0))
        return torch.tensor(out)


def P(title):
    return Passage(id=f"{title}#0", title=title, text=f"text of {title}", doc_id=title)


def test_greedy_search_gives_the_exact_silver_sequences_in_lockstep():
    lm = PreferenceLM()
    scorer = likelihood_scorer(lm, RAGPrompt())
    results = greedy_silver(["q1", "q2"], ["first?", "second?"], ["x", "y"],
                            [[P("B"), P("C"), P("A"), P("D")], [P("C"), P("E")]], scorer)
    # q1: empty -10; +A -5 (best); [A]+D -4.5 beats [A]+B -5.5 and [A]+C -6; then nothing beats -4.5
    assert results[0].sequence == ["A#0", "D#0"] and results[0].score == -4.5 and results[0].trace == [-5.0, -4.5]
    assert results[0].empty_score == -10.0 and results[0].candidates == ["B#0", "C#0", "A#0", "D#0"]
    # q2: no passage helps -> the empty sequence (kept, not dropped)
    assert results[1].sequence == [] and results[1].score == -10.0
    # one batched call per step for all questions: empty, step 1 (both), step 2 (q1), step 3 (q1)
    assert lm.calls == 4


def test_rank_margin_lets_the_retriever_order_decide_near_ties():
    scorer = likelihood_scorer(PreferenceLM(), RAGPrompt())
    candidates = [[P("B"), P("C"), P("A"), P("D")]]
    # A (rank 3) beats B (rank 1) by 1.0: it wins below a margin of 1.0, B wins from there on
    assert greedy_silver(["q"], ["?"], ["x"], candidates, scorer, max_len=1, rank_margin=0.5)[0].sequence == ["A#0"]
    kept = greedy_silver(["q"], ["?"], ["x"], candidates, scorer, max_len=1, rank_margin=1.5)[0]
    assert kept.sequence == ["B#0"] and kept.score == -6.0


def test_silver_cache_resumes_without_new_generator_calls(tmp_path):
    lm = PreferenceLM()
    scorer = likelihood_scorer(lm, RAGPrompt())
    args = (["q1", "q2"], ["first?", "second?"], ["x", "y"], [[P("A"), P("B")], [P("D")]])
    first = silver_sequences(*args, scorer=scorer, cache=tmp_path / "silver.jsonl", chunk=1, show_progress=False)
    calls = lm.calls
    again = silver_sequences(*args, scorer=scorer, cache=tmp_path / "silver.jsonl", show_progress=False)
    assert again == first and lm.calls == calls
    assert [r.sequence for r in first] == [["A#0"], ["D#0"]]
    # another retriever's candidates for q2 (or another answer): searched again, not taken from the cache
    changed = (args[0], args[1], ["x", "z"], [[P("A"), P("B")], [P("B"), P("D")]])
    third = silver_sequences(*changed, scorer=scorer, cache=tmp_path / "silver.jsonl", show_progress=False)
    assert lm.calls > calls and third[0] == first[0] and third[1].candidates == ["B#0", "D#0"]
    assert third[1].answer == "z"


def test_a_cache_made_with_other_settings_is_refused(tmp_path):
    import pytest

    from ragadapt.errors import DataFormatError

    lm = PreferenceLM()
    args = (["q"], ["?"], ["x"], [[P("B"), P("A")]], likelihood_scorer(lm, RAGPrompt()))
    first = silver_sequences(*args, cache=tmp_path / "silver.jsonl", show_progress=False)
    calls = lm.calls
    assert silver_sequences(*args, cache=tmp_path / "silver.jsonl", show_progress=False) == first  # same settings
    assert lm.calls == calls
    with pytest.raises(DataFormatError, match="rank_margin"):
        silver_sequences(*args, cache=tmp_path / "silver.jsonl", rank_margin=2.0, show_progress=False)


class ReadingLM:
    """Answers with the title of the first passage it is shown, or "no idea"."""

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, prompts, max_new_tokens=24, batch_size=8):
        return [f"It is {m[0]}." if (m := re.findall(r"\[\d+\] (\w+)", p[-1]["content"])) else "no idea"
                for p in prompts]


def test_answer_metric_silver_takes_the_first_passage_that_answers():
    from ragadapt.bridges.silver import answer_metric_scorer

    scorer = answer_metric_scorer(ReadingLM(), RAGPrompt(), "contains")
    results = greedy_silver(["q1", "q2"], ["?", "?"], ["Oslo", "Lima"],
                            [[P("Rome"), P("Oslo"), P("Bern")], [P("Rome"), P("Bern")]], scorer, max_len=1, min_gain=-0.5)
    # q1: only Oslo answers -> Oslo, though ranked second; q2: nothing answers -> the retriever's first passage
    assert [r.sequence for r in results] == [["Oslo#0"], ["Rome#0"]]
    assert [r.score for r in results] == [1.0, 0.0]
