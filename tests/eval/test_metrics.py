import pytest

from ragadapt.eval import (
    answer_contains, exact_match, f1_score, mrr, ndcg_at_k, normalize_answer, recall_at_k,
)


def test_normalisation():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"


def test_em_f1_contains():
    assert exact_match("the Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    assert f1_score("Eiffel", ["Eiffel Tower"]) == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert f1_score("p q r", ["x", "q r s"]) == pytest.approx(2 / 3)
    assert f1_score("", [""]) == 1.0 and f1_score("x", [""]) == 0.0
    assert answer_contains("It was painted by Georges Seurat's hand.", ["Seurat"]) == 1.0
    assert answer_contains("Seuratism", ["Seurat"]) == 0.0
    assert answer_contains("anything", [""]) == 0.0


def test_contains_folds_accents_both_ways_but_em_keeps_squad_normalisation():
    assert answer_contains("The capital is Bogota.", ["Bogotá"]) == 1.0
    assert answer_contains("Kurt Gödel proved it.", ["Kurt Godel"]) == 1.0
    assert answer_contains("Bogus", ["Bogotá"]) == 0.0
    assert exact_match("Bogota", ["Bogotá"]) == 0.0


def test_retrieval_metrics_hand_computed():
    rel = [False, True, False, True]
    assert recall_at_k(rel, 1, n_relevant=2) == 0.0
    assert recall_at_k(rel, 2, n_relevant=2) == 0.5
    assert recall_at_k(rel, 4, n_relevant=2) == 1.0
    assert recall_at_k(rel, 2) == 1.0  # hit rate when the number of relevant items is unknown
    assert mrr(rel) == 0.5 and mrr([False, False]) == 0.0 and mrr(rel, k=1) == 0.0
    import math

    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert ndcg_at_k(rel, 4, n_relevant=2) == pytest.approx(dcg / idcg)
    assert ndcg_at_k([True], 10, n_relevant=1) == 1.0


def test_strict_contains_gives_no_credit_for_naming_every_option():
    from ragadapt.eval.metrics import answer_contains, question_options, strict_contains

    q = "Which band was formed first, Led Zeppelin or the Rolling Stones?"
    golds = ["The Rolling Stones", "Rolling Stones"]
    assert question_options(q) == ["Led Zeppelin", "the Rolling Stones"]
    assert strict_contains("The Rolling Stones, in 1962.", golds, q) == 1.0
    hedge = "Led Zeppelin or the Rolling Stones"
    assert answer_contains(hedge, golds) == 1.0 and strict_contains(hedge, golds, q) == 0.0
    assert strict_contains("Led Zeppelin", golds, q) == 0.0
    # an option inside the gold answer is not a second option named
    film = "Which film was directed by Victor Fleming: The Wind or Gone with the Wind?"
    assert strict_contains("Gone with the Wind", ["Gone with the Wind"], film) == 1.0
    # yes / no: the first one said
    assert strict_contains("No, it is not.", ["no"], "Is ayurveda scientific?") == 1.0
    assert strict_contains("Yes. No.", ["no"], "Is it?") == 0.0
    assert strict_contains("I do not know", ["no"], "Is it?") == 0.0
    # no options, or options that are not the answers: answer contains
    assert strict_contains("It is Paris.", ["Paris"], "What is the capital of France?") == 1.0
    assert strict_contains("blue", ["blue"], "Is it red, green or blue?") == 1.0
