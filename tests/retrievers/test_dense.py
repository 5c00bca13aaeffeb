import json

import pytest

from ragadapt.corpora import Chunker
from ragadapt.errors import ManifestError
from ragadapt.retrievers import DenseRetriever, load_retriever
from ragadapt.types import Passage


@pytest.fixture
def passages(corpus_docs):
    return list(Chunker(chunk_tokens=60, overlap=10).chunk_all(corpus_docs[:15]))


@pytest.fixture
def retriever(passages, tiny_embedder):
    return DenseRetriever.build(passages, tiny_embedder, show_progress=False)


def test_a_passage_retrieves_itself(retriever, passages):
    queries = [p.contents for p in passages[:5]]
    hits = retriever.search(queries, 3)
    assert [h[0].passage.id for h in hits] == [p.id for p in passages[:5]]
    assert all([x.rank for x in h] == [0, 1, 2] for h in hits)
    assert all(h[0].score >= h[1].score >= h[2].score for h in hits)


def test_save_load_roundtrip(tmp_path, retriever, passages, tiny_embedder):
    retriever.save(tmp_path / "idx")
    m = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert (m["kind"], m["dim"], m["count"]) == ("dense", 32, len(passages))
    loaded = load_retriever(tmp_path / "idx", embedder=tiny_embedder)
    q = ["how do for loops work", "exceptions"]
    assert [[h.passage.id for h in hs] for hs in loaded.search(q, 4)] == \
        [[h.passage.id for h in hs] for hs in retriever.search(q, 4)]


def test_load_refuses_another_embedder(tmp_path, retriever, tiny_embedder_dir):
    from ragadapt.retrievers import Embedder

    retriever.save(tmp_path / "idx")
    other = Embedder.load(str(tiny_embedder_dir), device="cpu")
    other.name = "some-other-embedder"
    with pytest.raises(ManifestError, match="embedder: saved '.*', expected 'some-other-embedder'"):
        DenseRetriever.load(tmp_path / "idx", embedder=other)


def test_corrupted_index_is_refused(tmp_path, retriever, tiny_embedder):
    retriever.save(tmp_path / "idx")
    f = tmp_path / "idx" / "vectors.faiss"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(ManifestError, match="size .*corrupted"):
        DenseRetriever.load(tmp_path / "idx", embedder=tiny_embedder)
    (tmp_path / "idx" / "manifest.json").unlink()
    with pytest.raises(ManifestError, match="no manifest.json"):
        DenseRetriever.load(tmp_path / "idx", embedder=tiny_embedder)


def test_interrupted_save_leaves_no_index(tmp_path, retriever, monkeypatch):
    from ragadapt.retrievers import store

    def boom(self, directory):
        raise KeyboardInterrupt  # as if the user hit Ctrl-C in the middle of the write

    monkeypatch.setattr(store.PassageStore, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        retriever.save(tmp_path / "idx")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_the_old_index(tmp_path, retriever, tiny_embedder, monkeypatch):
    from ragadapt.retrievers import store

    retriever.save(tmp_path / "idx")
    monkeypatch.setattr(store.PassageStore, "save", lambda self, d: (_ for _ in ()).throw(RuntimeError("disk")))
    with pytest.raises(RuntimeError):
        retriever.save(tmp_path / "idx")
    monkeypatch.undo()
    assert len(DenseRetriever.load(tmp_path / "idx", embedder=tiny_embedder)) == len(retriever)
    assert [p.name for p in tmp_path.iterdir()] == ["idx"]


def test_duplicate_ids_are_refused_and_change_nothing(retriever, passages):
    n = len(retriever)
    with pytest.raises(ValueError, match="duplicate passage id"):
        retriever.add([Passage(id="new", text="x"), passages[0]])
    assert len(retriever) == n == retriever.index.ntotal


def test_add_then_search_and_reembed(retriever):
    retriever.add([Passage(id="extra", text="a completely new passage about zebras")])
    assert retriever.search(["a completely new passage about zebras"], 1)[0][0].passage.id == "extra"
    before = [[h.passage.id for h in hs] for hs in retriever.search(["loops", "classes"], 5)]
    retriever.reembed()
    assert [[h.passage.id for h in hs] for hs in retriever.search(["loops", "classes"], 5)] == before


def test_documents_embedded_in_two_processes_match_one(passages, tiny_embedder_dir):
    """embed_devices=["cpu", "cpu"]: sentence-transformers' process pool gives the vectors of an in-process build
    (the same model on each chunk), and the pool is closed afterwards."""
    import numpy as np

    from ragadapt.retrievers import Embedder

    one = DenseRetriever.build(passages, Embedder.load(str(tiny_embedder_dir), device="cpu"), device="cpu",
                               batch_size=4, show_progress=False)
    embedder = Embedder.load(str(tiny_embedder_dir), device="cpu")
    two = DenseRetriever.build(passages, embedder, device="cpu", batch_size=4, show_progress=False,
                               embed_devices=["cpu", "cpu"])
    assert embedder.pool is None
    assert np.allclose(one.index.vectors(), two.index.vectors(), atol=1e-5)


def test_bad_embedding_devices_are_one_line_from_the_cli(capsys):
    from ragadapt.cli.main import main

    assert main(["build", "--corpus", "wiki", "--out", "x", "--embed-devices", "cpu,gpu0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--embed-devices" in err and "'gpu0'" in err and "\n" not in err
