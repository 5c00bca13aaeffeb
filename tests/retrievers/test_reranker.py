from ragadapt.retrievers import CrossEncoderReranker
from ragadapt.types import Hit, Passage


def test_rerank_orders_by_cross_encoder_score(tmp_path, tiny_embedder_dir):
    reranker = CrossEncoderReranker.from_pretrained(str(tiny_embedder_dir), device="cpu")
    hits = [[Hit(Passage(id=f"p{i}", text=t), 0.0, i) for i, t in enumerate(["alpha beta", "gamma", "delta x"])],
            [Hit(Passage(id="q", text="only one"), 0.0, 0)]]
    out = reranker.rerank(["alpha", "one"], hits, k=2)
    expected = reranker.model.predict([("alpha", h.passage.contents) for h in hits[0]])
    assert [h.passage.id for h in out[0]] == [hits[0][i].passage.id for i in (-expected).argsort()[:2]]
    assert [h.rank for h in out[0]] == [0, 1] and len(out[1]) == 1
    reranker.save(tmp_path / "rr")
    loaded = CrossEncoderReranker.load(tmp_path / "rr", device="cpu")
    assert [h.passage.id for h in loaded.rerank(["alpha"], hits[:1])[0]] == [h.passage.id for h in
                                                                            reranker.rerank(["alpha"], hits[:1])[0]]
