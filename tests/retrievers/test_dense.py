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
                               batch_size=4, show_progress=False, embed_dtype="fp32")  # a pool embeds in fp32
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


def test_documents_embedded_in_bf16_are_recorded_and_close_to_fp32(tmp_path, passages, tiny_embedder_dir):
    """embed_dtype bf16: documents under bf16 autocast (the encoder's fp32 weights put back, queries
    fp32), vectors within bf16 precision of fp32 ones; the manifest records it and a loaded index adds passages
    the same way; an unknown dtype is one line naming the option."""
    import numpy as np
    import torch

    from ragadapt.errors import DataFormatError
    from ragadapt.retrievers import Embedder

    fp32 = DenseRetriever.build(passages, Embedder.load(str(tiny_embedder_dir), device="cpu"), show_progress=False,
                                embed_dtype="fp32")
    embedder = Embedder.load(str(tiny_embedder_dir), device="cpu")
    weights = {name: t.clone() for name, t in embedder.model.state_dict().items()}
    bf16 = DenseRetriever.build(passages, embedder, show_progress=False, embed_dtype="bf16")
    assert embedder.doc_dtype == "bf16" and all(p.dtype == torch.float32 for p in embedder.model.parameters())
    assert all(torch.equal(t, weights[name]) for name, t in embedder.model.state_dict().items())  # put back exactly
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the Linear weights cast once = plain autocast, bit for bit
        plain = embedder.model.encode([p.contents for p in passages], normalize_embeddings=True)
    assert np.array_equal(plain.astype(np.float32), bf16.index.vectors())
    cosine = np.sum(fp32.index.vectors() * bf16.index.vectors(), axis=1)
    assert cosine.min() > 0.999 and not np.array_equal(fp32.index.vectors(), bf16.index.vectors())
    bf16.save(tmp_path / "idx")
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["doc_dtype"] == "bf16"
    loaded = load_retriever(tmp_path / "idx")
    assert loaded.embedder.doc_dtype == "bf16"
    assert np.array_equal(loaded.embedder.encode_docs([passages[0].contents]), bf16.index.vectors()[:1])
    with pytest.raises(DataFormatError, match="embed_dtype"):
        DenseRetriever.build(passages, embedder, show_progress=False, embed_dtype="fp16")


def test_embedding_shards_of_another_dtype_are_not_reused(tmp_path, passages, tiny_embedder_dir, caplog):
    import numpy as np

    from ragadapt.retrievers import Embedder
    from ragadapt.retrievers.shards import encode_resumable

    embedder = Embedder.load(str(tiny_embedder_dir), device="cpu")
    texts = [p.contents for p in passages]
    fp32 = encode_resumable(embedder, texts, tmp_path / "shards", shard_size=8, show_progress=False)
    embedder.doc_dtype = "bf16"
    with caplog.at_level("INFO"):
        bf16 = encode_resumable(embedder, texts, tmp_path / "shards", shard_size=8, show_progress=False)
    assert "another embedder" in caplog.text and not np.array_equal(fp32, bf16)
    assert np.array_equal(bf16[:8], embedder.encode_docs(texts[:8]))


def test_a_process_pool_embeds_documents_in_fp32_and_records_it(passages, tiny_embedder_dir):
    from ragadapt.retrievers import Embedder

    embedder = Embedder.load(str(tiny_embedder_dir), device="cpu")
    built = DenseRetriever.build(passages[:6], embedder, batch_size=2, show_progress=False, embed_dtype="bf16",
                                 embed_devices=["cpu", "cpu"])
    assert built.embedder.doc_dtype == "fp32"  # its workers run without this process's autocast
