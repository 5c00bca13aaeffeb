import pytest

from ragadapt.retrievers import BM25Retriever, DenseRetriever, HybridRetriever, load_retriever, rrf_fuse
from ragadapt.types import Hit, Passage

P = [Passage(id=f"p{i}", text=t, title="") for i, t in enumerate([
    "the cat sat on the mat", "dogs chase cats in the park", "quantum chromodynamics of quarks",
    "a recipe for apple pie", "the history of the roman empire"])]


def test_bm25_finds_keyword_match_and_drops_non_matches():
    r = BM25Retriever.build(P)
    hits = r.search(["quarks chromodynamics", "zzzz unknown"], 3)
    assert hits[0][0].passage.id == "p2"
    assert len(hits[0]) == 1  # no other passage shares a term
    assert hits[1] == []


def test_bm25_save_load(tmp_path):
    r = BM25Retriever.build(P)
    r.save(tmp_path / "bm")
    loaded = load_retriever(tmp_path / "bm")
    assert isinstance(loaded, BM25Retriever)
    assert [h.passage.id for h in loaded.search(["apple pie"], 2)[0]] == [h.passage.id for h in r.search(["apple pie"], 2)[0]]
    assert not any(p.suffix == ".pkl" for p in (tmp_path / "bm").rglob("*"))


def test_rrf_hand_computed():
    a = [Hit(P[0], 9, 0), Hit(P[1], 8, 1)]
    b = [Hit(P[1], 5, 0), Hit(P[2], 4, 1)]
    fused = rrf_fuse([a, b], k=3, k_rrf=60)
    assert [h.passage.id for h in fused] == ["p1", "p0", "p2"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61)
    weighted = rrf_fuse([a, b], k=3, k_rrf=60, weights=[1.0, 0.0])
    assert weighted[0].passage.id == "p0"


def test_hybrid_search_save_load(tmp_path, tiny_embedder):
    hybrid = HybridRetriever({"dense": DenseRetriever.build(P, tiny_embedder, show_progress=False),
                              "bm25": BM25Retriever.build(P)})
    hits = hybrid.search(["apple pie recipe"], 3)[0]
    assert hits[0].passage.id == "p3" and len(hits) == 3
    hybrid.save(tmp_path / "h")
    loaded = load_retriever(tmp_path / "h", embedder=tiny_embedder)
    assert [h.passage.id for h in loaded.search(["apple pie recipe"], 3)[0]] == [h.passage.id for h in hits]
    assert loaded.get("p4").text.startswith("the history")
