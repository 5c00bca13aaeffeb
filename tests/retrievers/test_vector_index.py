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
