import pytest
import torch

from ragadapt.system import RAGConfig, RAGSystem
from ragadapt.types import Hit


@pytest.fixture
def system(corpus_docs, tiny_embedder_dir, tiny_generator_dir):
    return RAGSystem.build(corpus_docs[:12], embedder=str(tiny_embedder_dir), generator=str(tiny_generator_dir),
                           chunk_tokens=60, overlap=8, device="cpu", show_progress=False,
                           config=RAGConfig(k=2, max_new_tokens=5))


def test_answer_returns_text_and_passages(system):
    answers = system.answer(["what is an assert statement?", "how do classes work?"])
    assert len(answers) == 2
    assert all(isinstance(a.text, str) and len(a.hits) == 2 for a in answers)
    assert system.answer("single question")[0].question == "single question"


def test_save_load_roundtrip_reproduces_answers(tmp_path, system):
    q = ["what is an assert statement?"]
    before = system.answer(q)[0]
    system.save(tmp_path / "sys")
    assert (tmp_path / "sys" / "generator" / "manifest.json").exists()  # a local model directory travels inside
    loaded = RAGSystem.load(tmp_path / "sys", device="cpu")
    after = loaded.answer(q)[0]
    assert after.text == before.text
    assert [h.passage.id for h in after.hits] == [h.passage.id for h in before.hits]
    assert loaded.config.k == 2


def test_changed_generator_weights_are_saved(tmp_path, system):
    with torch.no_grad():
        next(system.generator.model.parameters()).add_(0.5)
    system.generator_ref = None  # what a training routine does
    system.save(tmp_path / "sys")
    loaded = RAGSystem.load(tmp_path / "sys", device="cpu")
    assert (tmp_path / "sys" / "generator" / "config.json").exists()
    torch.testing.assert_close(next(loaded.generator.model.parameters()), next(system.generator.model.parameters()))


def test_retrieval_only_load(tmp_path, system):
    system.save(tmp_path / "sys")
    loaded = RAGSystem.load(tmp_path / "sys", generator=False)
    assert loaded.generator is None and loaded.retrieve(["loops"], 3)[0]
    with pytest.raises(ValueError, match="no generator"):
        loaded.answer(["x"])


def test_freeze_and_trainable_components(system):
    assert set(system.trainable_components()) == {"retriever", "generator"}
    system.freeze("retriever")
    assert system.trainable_components() == ["generator"]
    assert not system.retriever.module.training
    system.freeze()
    assert system.trainable_components() == []
    system.unfreeze("retriever")
    assert system.trainable_components() == ["retriever"]
    with pytest.raises(ValueError, match="unknown component"):
        system.freeze("decoder")


class ReverseBridge:
    """Passes the candidates in reverse order, at most two of them."""

    kind = "reverse"

    def select_batch(self, queries, hits):
        return [list(reversed(h))[:2] for h in hits]


def test_pipeline_uses_the_bridge_order(system):
    system.bridge = ReverseBridge()
    system.config.fetch_k = 5
    candidates = system.retrieve(["classes"], 5)[0]
    answer = system.answer(["classes"])[0]
    assert [h.passage.id for h in answer.hits] == [candidates[4].passage.id, candidates[3].passage.id]
    with pytest.raises(ValueError, match="cannot be saved"):
        system.save("unused")


class ReverseReranker:
    kind = "reverse-reranker"

    def rerank(self, queries, hits, k=None):
        return [[Hit(h.passage, -i, r) for r, (i, h) in enumerate(reversed(list(enumerate(hs))))][:k] for hs in hits]


def test_pipeline_uses_the_reranker(system):
    system.reranker = ReverseReranker()
    system.config.fetch_k = 6
    plain = system.retriever.search(["classes"], 6)[0]
    assert [h.passage.id for h in system.retrieve(["classes"], 2)[0]] == [plain[5].passage.id, plain[4].passage.id]


def test_build_with_bm25_is_hybrid(tmp_path, corpus_docs, tiny_embedder_dir):
    s = RAGSystem.build(corpus_docs[:5], embedder=str(tiny_embedder_dir), generator=None, bm25=True,
                        show_progress=False, device="cpu")
    assert s.retriever.kind == "hybrid"
    s.save(tmp_path / "h")
    assert RAGSystem.load(tmp_path / "h", generator=False).retriever.kind == "hybrid"


def test_overlong_question_does_not_crash(system):
    assert isinstance(system.answer(["why " * 3000])[0].text, str)


def _checksums(directory):
    import json

    parts = json.loads((directory / "manifest.json").read_text())["components"]
    return {name: part.get("checksum") for name, part in parts.items()}


def test_bundled_generator_is_kept_by_name(tmp_path, system):
    import json

    system.generator_ref = "smollm2-135m-instruct"
    system.save(tmp_path / "sys")
    parts = json.loads((tmp_path / "sys" / "manifest.json").read_text())["components"]
    assert parts["generator"] == {"ref": "smollm2-135m-instruct"} and not (tmp_path / "sys" / "generator").exists()


def test_carried_components_keep_their_checksums_and_a_moved_system_loads(tmp_path, system):
    import shutil

    from ragadapt.system import describe

    system.save(tmp_path / "a")
    loaded = RAGSystem.load(tmp_path / "a", device="cpu")
    with torch.no_grad():
        next(loaded.generator.model.parameters()).add_(0.5)
    loaded.replace("generator", loaded.generator, provenance={"method": "test", "run": "runs/x"})
    loaded.save(tmp_path / "b")
    before, after = _checksums(tmp_path / "a"), _checksums(tmp_path / "b")
    assert before["retriever"] == after["retriever"] and before["generator"] != after["generator"]
    assert "from method test" in describe(tmp_path / "b")
    shutil.move(str(tmp_path / "b"), str(tmp_path / "moved"))  # no absolute paths inside
    moved = RAGSystem.load(tmp_path / "moved", device="cpu")
    torch.testing.assert_close(next(moved.generator.model.parameters()), next(loaded.generator.model.parameters()))
    assert moved.provenance["generator"]["method"] == "test"


def test_flipped_bytes_and_foreign_component_dirs_are_refused(tmp_path, system):
    import json

    from ragadapt.errors import ManifestError

    system.save(tmp_path / "sys")
    weights = tmp_path / "sys" / "generator" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    weights.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="checksum differs"):
        RAGSystem.load(tmp_path / "sys", device="cpu")
    system.save(tmp_path / "ok")
    manifest = tmp_path / "ok" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["components"]["retriever"]["dir"] = "../sys/retriever"
    manifest.write_text(json.dumps(m))
    with pytest.raises(ManifestError, match="points outside the system"):
        RAGSystem.load(tmp_path / "ok", generator=False)
    for bad in (-5, "three", 0, True):
        m["components"]["retriever"]["dir"] = "retriever"
        m["config"]["k"] = bad
        manifest.write_text(json.dumps(m))
        with pytest.raises(ManifestError, match="config.k"):
            RAGSystem.load(tmp_path / "ok", generator=False)


def test_answer_refuses_a_bad_k(system):
    with pytest.raises(ValueError, match="k must be"):
        system.answer(["x"], k=-1)


def test_a_save_killed_between_its_renames_is_recovered_on_load(tmp_path, system):
    import os

    system.save(tmp_path / "sys")
    os.replace(tmp_path / "sys", tmp_path / ".sys.old-999999-deadbeef")  # the state after the first rename
    (tmp_path / ".sys.tmp-999999-cafecafe").mkdir()  # a dead writer's half-written directory
    loaded = RAGSystem.load(tmp_path / "sys", generator=False)
    assert loaded.retrieve(["loops"], 2)[0] and (tmp_path / "sys").is_dir()
    system.save(tmp_path / "sys")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sys"]  # leftovers cleaned by the next save
