import numpy as np
import pytest

from ragadapt.retrievers import IndexSpec, VectorIndex


def unit_vectors(n, d, seed):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(x, q, k):
    scores = q @ x.T
    return np.argsort(-scores, axis=1)[:, :k]


def test_flat_is_exact():
    x, q = unit_vectors(500, 16, 0), unit_vectors(20, 16, 1)
    index = VectorIndex(16, "flat")
    index.add(x)
    scores, rows = index.search(q, 5)
    assert (rows == brute_force(x, q, 5)).all()
    np.testing.assert_allclose(scores, np.take_along_axis(q @ x.T, rows, axis=1), rtol=1e-5)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_indexes_find_most_neighbours(kind):
    x, q = unit_vectors(2000, 16, 0), unit_vectors(50, 16, 1)
    index = VectorIndex(16, IndexSpec(kind=kind, nprobe=16))
    index.add(x)
    _, rows = index.search(q, 10)
    truth = brute_force(x, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, truth)])
    assert recall > 0.8


def test_torch_backend_matches_faiss(monkeypatch):
    from ragadapt.retrievers import vector_index

    x, q = unit_vectors(300, 8, 2), unit_vectors(10, 8, 3)
    faiss_index = VectorIndex(8, "flat")
    monkeypatch.setattr(vector_index, "has_faiss", lambda: False)
    torch_index = VectorIndex(8, "flat")
    assert faiss_index.backend == "faiss-cpu" and torch_index.backend == "torch-cpu"
    for index in (faiss_index, torch_index):
        index.add(x)
        np.testing.assert_allclose(index.vectors(), x, atol=1e-6)
    assert (faiss_index.search(q, 7)[1] == torch_index.search(q, 7)[1]).all()


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_save_load_roundtrip(tmp_path, kind):
    x, q = unit_vectors(400, 8, 4), unit_vectors(5, 8, 5)
    index = VectorIndex(8, kind)
    index.add(x)
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, 8, index.spec)
    assert loaded.ntotal == 400
    np.testing.assert_allclose(loaded.vectors(), x, atol=1e-6)
    assert (loaded.search(q, 5)[1] == index.search(q, 5)[1]).all()


def test_k_larger_than_index_and_empty_index():
    index = VectorIndex(4, "flat")
    assert index.search(unit_vectors(2, 4, 0), 3)[1].shape == (2, 0)
    index.add(unit_vectors(2, 4, 1))
    assert index.search(unit_vectors(1, 4, 2), 10)[1].shape == (1, 2)


def test_small_ivf_adapts_its_cell_count():
    index = VectorIndex(4, "ivf")
    index.add(unit_vectors(30, 4, 0))  # fewer points than FAISS wants per cell: a single cell
    assert index.search(unit_vectors(1, 4, 1), 3)[1].shape == (1, 3)


def test_wrong_dimension_and_kind():
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        VectorIndex(4, "flat").add(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="unknown index kind 'lsh'"):
        IndexSpec(kind="lsh")


def clustered(n, d, seed, centers=40):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, d)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.35 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind,opq", [("ivfpq", False), ("ivfpq", True), ("hnswpq", False), ("hnswpq", True)])
def test_pq_kinds_find_most_neighbours_and_round_trip(tmp_path, kind, opq):
    x = clustered(4000, 32, 0)
    q = clustered(60, 32, 0)[:60] + 0.01
    spec = IndexSpec(kind=kind, pq_m=16, pq_bits=4, opq=opq, nprobe=16, train_sample=2000, ef_search=48)
    index = VectorIndex(32, spec)
    index.add(x)
    _, rows = index.search(q, 10)
    truth = brute_force(x, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, truth)])
    assert recall > 0.4, recall  # 4-bit codes of 2 dimensions each, on tiny data: a floor, not a target
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, 32, IndexSpec.from_dict(spec.to_dict()))
    assert loaded.ntotal == 4000 and (loaded.search(q, 10)[1] == rows).all()
    assert np.allclose(loaded.vectors(), index.vectors())  # codes decode the same after the round trip
    links = 2 * spec.hnsw_m * 4 if kind == "hnswpq" else 0  # an HNSW graph stores ~2M neighbour ids a vector
    assert (tmp_path / "vectors.faiss").stat().st_size < 4000 * (32 * 4 / 3 + links)  # codes, not float vectors
    scores, _ = loaded.search(q, 10)
    exact = np.einsum("qd,qkd->qk", q, x[rows])
    assert (np.diff(scores, axis=1) <= 1e-6).all() and np.abs(scores - exact).max() < 0.3  # inner products, best first


@pytest.mark.parametrize("kind,refine", [("ivfpq", "sq8"), ("ivfpq", "flat"), ("hnswpq", "sq8")])
def test_refining_pq_candidates_raises_recall_and_round_trips(tmp_path, kind, refine):
    x = clustered(4000, 32, 0)
    q = clustered(60, 32, 0)[:60] + 0.01
    truth = brute_force(x, q, 10)
    recalls, indexes = {}, {}
    for name, extra in (("pq", {}), ("refined", {"refine": refine, "refine_k": 8})):
        spec = IndexSpec(kind=kind, pq_m=8, pq_bits=4, nprobe=16, train_sample=2000, **extra)
        indexes[name] = VectorIndex(32, spec)
        indexes[name].add(x)
        rows = indexes[name].search(q, 10)[1]
        recalls[name] = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, truth)])
    assert recalls["refined"] > recalls["pq"] + 0.1, recalls  # the same codes, re-ranked with better vectors
    spec = indexes["refined"]._b.spec
    indexes["refined"].save(tmp_path)
    loaded = VectorIndex.load(tmp_path, 32, IndexSpec.from_dict(spec.to_dict()))
    assert (loaded.search(q, 10)[1] == indexes["refined"].search(q, 10)[1]).all()


def test_refine_settings_are_checked():
    with pytest.raises(ValueError, match="needs kind ivfpq or hnswpq"):
        IndexSpec(kind="hnsw", refine="sq8")
    with pytest.raises(ValueError, match="unknown refine"):
        IndexSpec(kind="ivfpq", refine="pq")


@pytest.mark.parametrize("kind", ["ivf", "ivfpq"])
def test_on_disk_lists_are_mapped_read_only_and_travel_with_the_index(tmp_path, kind):
    from ragadapt.errors import ManifestError

    x = clustered(3000, 32, 0)
    q = clustered(40, 32, 1)
    spec = IndexSpec(kind=kind, pq_m=8, nprobe=16, on_disk=True, train_sample=2000)
    index = VectorIndex(32, spec)
    index.add(x)
    expected = index.search(q, 10)
    for name in ("a", "copy"):
        (tmp_path / name).mkdir()
    index.save(tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["vectors.faiss", "vectors.ivfdata"]
    assert (index.search(q, 10)[1] == expected[1]).all()  # the index in memory keeps its own lists
    (tmp_path / "a").rename(tmp_path / "moved")  # the lists file is found beside the index, wherever it is
    loaded = VectorIndex.load(tmp_path / "moved", 32, IndexSpec.from_dict(spec.to_dict()))
    assert loaded.ntotal == 3000 and (loaded.search(q, 10)[1] == expected[1]).all()
    assert np.allclose(loaded.search(q, 10)[0], expected[0])
    with pytest.raises(ValueError, match="memory-mapped read-only from .*vectors.ivfdata: build the index again"):
        loaded.add(x[:2])
    loaded.save(tmp_path / "copy")  # a mapped index saves (a routine writing OUTPUT_DIR/system copies it)
    copy = VectorIndex.load(tmp_path / "copy", 32, spec)
    assert (copy.search(q, 10)[1] == expected[1]).all()
    (tmp_path / "copy" / "vectors.ivfdata").unlink()
    with pytest.raises(ManifestError, match="vectors.ivfdata, which is missing"):
        VectorIndex.load(tmp_path / "copy", 32, spec)
    with pytest.raises(ValueError, match="needs kind ivf or ivfpq"):
        IndexSpec(kind="hnsw", on_disk=True)


def test_ivfpq_needs_a_divisor_of_the_dimension():
    with pytest.raises(ValueError, match="must divide"):
        IndexSpec(kind="ivfpq", pq_m=5).factory(32, 10000)


def test_an_approximate_build_records_its_recall_against_flat(tmp_path, corpus_docs, tiny_embedder_dir):
    import json

    from ragadapt.system import RAGSystem

    system = RAGSystem.build(corpus_docs, embedder=str(tiny_embedder_dir), generator=None,
                             index=IndexSpec(kind="ivfpq", refine="sq8", on_disk=True), device="cpu",
                             show_progress=False)
    recall = system.retriever.index_recall
    assert 0.0 < recall["recall@10_vs_flat"] <= 1.0 and recall["queries"] == 200
    system.save(tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "retriever" / "manifest.json").read_text())
    assert manifest["index_recall"] == recall and manifest["index"]["kind"] == "ivfpq"
    assert manifest["index"]["refine"] == "sq8" and manifest["index"]["refine_k"] == 4
    assert manifest["index"]["on_disk"] and "vectors.ivfdata" in manifest["files"]  # checksummed like the rest
    assert RAGSystem.load(tmp_path / "s", generator=False).retriever.search(["a question"], 3)[0]


def test_refine_without_ivfpq_is_one_line_from_the_cli(capsys):
    from ragadapt.cli.main import main

    assert main(["build", "--corpus", "wiki", "--out", "x", "--index", "hnsw", "--refine", "sq8"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--refine" in err and "--index ivfpq" in err and "\n" not in err
    assert main(["build", "--corpus", "wiki", "--out", "x", "--index", "flat", "--on-disk"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--on-disk" in err and "--index ivf or ivfpq" in err and "\n" not in err


@pytest.mark.parametrize("shard", [False, True])
def test_several_gpus_get_a_copy_each_or_a_share_of_the_vectors(monkeypatch, shard):
    """The cloner options handed to faiss (no GPU here: faiss's GPU calls are stand-ins that record them)."""
    import ragadapt.retrievers.vector_index as vector_index
    from ragadapt.retrievers.faiss_support import import_faiss

    faiss, seen = import_faiss(), {}

    class Options:
        shard = None

    def to_gpus(index, co=None):
        seen["shard"] = co.shard
        return index  # searches run on the CPU index

    monkeypatch.setattr(vector_index, "faiss_gpus", lambda: 2)
    monkeypatch.setattr(vector_index, "_use_cuda", lambda device: True)
    monkeypatch.setattr(faiss, "GpuMultipleClonerOptions", Options, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", to_gpus, raising=False)
    index = VectorIndex(8, IndexSpec(kind="flat", gpu_shard=shard), device="cuda")
    x = clustered(50, 8, 0)
    index.add(x)
    assert index.backend == "faiss-gpu" and (index.search(x[:3], 1)[1][:, 0] == [0, 1, 2]).all()
    assert seen == {"shard": shard}
