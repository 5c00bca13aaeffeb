"""REPLUG LSR: the loss by hand, the LM-score cache, candidate rows and their skips, index refresh,
and the routine end to end on tiny models (query-only and both encoders, contrastive baseline)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ragadapt.training.retrieval.data import CandidateStats, lsr_rows
from ragadapt.training.retrieval.lsr import lsr_loss
from ragadapt.training.retrieval.scoring import LMScorer, ScoreCache
from ragadapt.types import Hit, Passage, QAExample


def test_lsr_loss_matches_hand_computed_kl_and_gradient():
    # P_R = softmax([0, ln 3]) = [1/4, 3/4]; Q_LM = softmax([0, 0]) = [1/2, 1/2]
    scores = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)
    loss = lsr_loss(scores, torch.zeros(1, 2), tau_r=1.0, tau_lm=1.0)
    assert loss.item() == pytest.approx(0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0))  # = 0.5 ln(4/3)
    loss.backward()
    # dKL/ds_i = (P_R_i - Q_i) / tau_r: the over-scored passage is pushed down, the other up
    assert scores.grad[0].tolist() == pytest.approx([-0.25, 0.25])


def test_lsr_loss_temperatures_and_zero_at_agreement():
    lm = torch.tensor([[-1.0, -3.0, -2.0]])
    # retrieval scores equal to the LM scores scaled by the temperatures -> identical distributions
    assert lsr_loss(lm * 0.05 / 2.0, lm, tau_r=0.05, tau_lm=2.0).item() == pytest.approx(0.0, abs=1e-6)
    sharp, soft = (lsr_loss(torch.zeros(1, 3), lm, tau_lm=t).item() for t in (0.5, 5.0))
    assert sharp > soft > 0  # a sharper LM target is further from the uniform retrieval distribution


def test_lsr_loss_ignores_padding():
    scores, lm = torch.tensor([[0.3, 0.1, 9.0]]), torch.tensor([[-1.0, -2.0, 0.0]])
    mask = torch.tensor([[True, True, False]])
    assert lsr_loss(scores, lm, mask=mask).item() == pytest.approx(lsr_loss(scores[:, :2], lm[:, :2]).item())


class CountingGenerator:
    """Scores a pair by whether the passage holds the answer; counts the pairs it was asked about."""

    def __init__(self):
        self.calls = 0

    def count_tokens(self, text):
        return len(text.split())

    def loglikelihood(self, prompts, targets, batch_size=8):
        self.calls += len(prompts)
        return torch.tensor([0.0 if t in p[-1]["content"] else -5.0 for p, t in zip(prompts, targets)])


class AnswerSpotter(CountingGenerator):
    """A frozen 'LM' with clear preferences: the passages that contain the answer."""

    module = torch.nn.Linear(1, 1)


@pytest.fixture
def spotter(monkeypatch):
    """Routines score with AnswerSpotter (the tiny random LM's preferences are too flat to learn from)."""
    from ragadapt.training.retrieval import replug

    monkeypatch.setattr(replug, "load_scorer", lambda name, dtype="auto": AnswerSpotter())


def hits(*texts):
    return [Hit(Passage(id=f"d{i}#0", text=t, doc_id=f"d{i}"), 1.0 - i / 10, i) for i, t in enumerate(texts)]


def test_scorer_caches_pairs_and_survives_a_torn_line(tmp_path):
    cache = tmp_path / "scores.jsonl"
    gen = CountingGenerator()
    cands = [hits("Paris is in France", "Berlin"), hits("Rome", "Madrid")]
    first = LMScorer(gen, cache=cache, show_progress=False).score(["q1", "q2"], ["Paris", "Rome"], cands)
    assert first == [[0.0, -5.0], [0.0, -5.0]] and gen.calls == 4
    with open(cache, "a") as f:
        f.write('{"key": "abc", "sco')  # an interrupted append
    again = LMScorer(gen, cache=cache, show_progress=False)
    assert again.score(["q1", "q2"], ["Paris", "Rome"], cands) == first and gen.calls == 4
    assert again.score(["q1"], ["Paris"], [hits("Paris is in France", "Lyon")]) == [[0.0, -5.0]] and gen.calls == 5
    assert len(ScoreCache(cache).scores) == 5


class Store:
    def rows(self, ids):
        return [int(i[1]) for i in ids]


class FakeRetriever:
    store = Store()

    class embedder:
        query_prefix = doc_prefix = ""


def test_lsr_rows_pad_short_lists_and_skip_no_signal():
    ex = [QAExample(q, ["a"]) for q in ("full", "short", "flat", "single")]
    cands = [hits("a", "b", "c"), hits("a", "b"), hits("a", "b", "c"), hits("a")]
    scores = [[-1.0, -2.0, -3.0], [-1.0, -2.0], [-2.0, -2.0, -2.0], [-1.0]]
    stats = CandidateStats()
    rows = lsr_rows(FakeRetriever(), ex, cands, scores, 3, True, stats)
    assert [r["query"] for r in rows] == ["full", "short"]
    assert rows[1]["label"][0][:2] == [-1.0, -2.0] and math.isnan(rows[1]["label"][0][2])
    assert rows[1]["label"][1] == [0.0, 1.0, -1.0] and rows[1]["p2"] == ""
    assert (stats.used, stats.short_lists, stats.no_signal, stats.too_few_candidates) == (2, 1, 1, 1)


def test_question_recipes_mix_and_hold_out_documents(tmp_path):
    from types import SimpleNamespace

    from ragadapt.errors import DataFormatError
    from ragadapt.training.retrieval.data import qa_splits

    passages = [Passage(id=f"p{i}#0", doc_id=f"p{i}", title=f"Thing {i}",
                        text=f"Thing {i} is a large grey animal number {i} that lives in the forest of Arden. It eats.")
                for i in range(20)]
    retriever = SimpleNamespace(store=SimpleNamespace(passages=passages))
    train, test = qa_splits(retriever, "entity,template", tmp_path, 100, 100, 0.25, 0)
    kinds = {e.id.split("-")[0] for e in train + test}
    assert kinds == {"entity", "definition"} and len(train) + len(test) == 40
    assert not {d for e in train for d in e.gold_doc_ids} & {d for e in test for d in e.gold_doc_ids}
    assert (tmp_path / "data" / "train.jsonl").exists()
    assert qa_splits(retriever, "entity,template", tmp_path, 100, 100, 0.25, 0) == (train, test)  # reused
    smaller = qa_splits(retriever, "entity,template", tmp_path, 5, 100, 0.25, 0)  # other settings: rebuilt
    assert len(smaller[0]) == 5
    with pytest.raises(DataFormatError, match="unknown recipe 'nope'"):
        qa_splits(retriever, "nope", tmp_path / "other", 10, 10, 0.2, 0)


def test_reembed_equals_a_fresh_build(tiny_embedder_dir, corpus_docs):
    from ragadapt.retrievers import DenseRetriever, Embedder

    passages = [Passage(id=d.id, text=d.text[:300], title=d.title, doc_id=d.id) for d in corpus_docs[:60]]
    emb = Embedder.load(str(tiny_embedder_dir), device="cpu")
    retriever = DenseRetriever.build(passages, emb, show_progress=False)
    with torch.no_grad():  # "training" changed the document encoder
        for p in emb.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    retriever.reembed()
    fresh = DenseRetriever.build(passages, emb, show_progress=False)
    np.testing.assert_allclose(retriever.index.vectors(), fresh.index.vectors(), atol=1e-6)
    queries = [d.title for d in corpus_docs[:10]]
    assert [[h.passage.id for h in hs] for hs in retriever.search(queries, 5)] == \
        [[h.passage.id for h in hs] for hs in fresh.search(queries, 5)]


def test_saved_index_refuses_an_embedder_of_another_dimension(tmp_path, tiny_embedder, tiny_embedder_dir):
    from sentence_transformers import SentenceTransformer, models

    from ragadapt.errors import ManifestError
    from ragadapt.retrievers import DenseRetriever, Embedder

    retriever = DenseRetriever.build([Passage(id="a", text="alpha"), Passage(id="b", text="beta")], tiny_embedder,
                                     show_progress=False)
    retriever.save(tmp_path / "idx")
    base = SentenceTransformer(str(tiny_embedder_dir), device="cpu")
    wider = SentenceTransformer(modules=[*base, models.Dense(32, 48)], device="cpu")
    with pytest.raises(ManifestError, match=r"32-d vectors .* 48-d ones; re-embed"):
        DenseRetriever.load(tmp_path / "idx", embedder=Embedder(wider, tiny_embedder.name))


def _system(tmp_path, tiny_embedder_dir, generator_dir=None):
    from ragadapt.system import RAGSystem

    path = tmp_path / "system"
    system = RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=400, device="cpu",
                             show_progress=False)
    system.generator_ref = str(generator_dir) if generator_dir else None  # stored inside the system
    system.save(path)
    return path


def _config(tmp_path, system, generator_dir, **extra):
    from ragadapt.training import ReplugConfig
    from ragadapt.training.config import from_dict

    return from_dict(ReplugConfig, {
        "system": str(system), "output_dir": str(tmp_path / "out"), "scorer": str(generator_dir),
        "scorer_dtype": "fp32", "max_train": 48, "max_test": 8, "k": 4, "rounds": 2, "max_answer_eval": 0,
        "dev_set": None, "dev_select": None,
        "trainer": {"num_train_epochs": 4, "per_device_train_batch_size": 8, "learning_rate": 3e-3,
                    "logging_steps": 1, "save_steps": 1000}, **extra})


def _dev_file(tmp_path, system_dir):
    """One dev question with a gold passage of the tiny system (what recall is scored on)."""
    from ragadapt.system import RAGSystem

    passage = RAGSystem.load(system_dir, generator=False).retriever.store.passages[0]
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps({"question": passage.contents[:60], "answers": ["x"],
                                "gold_doc_ids": [passage.doc_id]}) + "\n")
    return path


def _scripted_recall(monkeypatch, values, without_reranker=None):
    """Replace the dev-select recall by a script: the n-th score is values[n] (a system without a reranker
    scores `without_reranker` when given)."""
    import ragadapt.training.best as best

    calls = iter(values)

    def scorer(system, examples, k):
        if without_reranker is not None and system.reranker is None:
            return lambda model, tok: without_reranker
        return lambda model, tok: next(calls)

    monkeypatch.setattr(best, "retrieval_scorer", scorer)


def _losses(out):
    return [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


def _params(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before, module):
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_replug_query_encoder_only_end_to_end(tmp_path, tiny_embedder_dir, tiny_generator_dir, spotter):
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.replug import train_replug

    system_dir = _system(tmp_path, tiny_embedder_dir)
    original = RAGSystem.load(system_dir, generator=False).retriever
    result = train_replug(_config(tmp_path, system_dir, tiny_generator_dir))
    losses = _losses(tmp_path / "out")
    assert len(losses) >= 8 and np.mean(losses[-3:]) < np.mean(losses[:3])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["stages"]) == {"before", "after (lsr, query)"} and report["pairs_scored"] > 0
    trained = RAGSystem.load(result.system_dir, generator=False).retriever
    assert trained.embedder.asymmetric
    q_before = _params(original.embedder.model)
    assert _changed(q_before, trained.embedder.query_model)  # the query encoder trained
    assert not _changed(q_before, trained.embedder.model)  # the document encoder and the index did not
    np.testing.assert_array_equal(trained.index.vectors(), original.index.vectors())
    assert (tmp_path / "out" / "loss.png").exists()


def test_replug_both_encoders_reembeds_and_resumes(tmp_path, tiny_embedder_dir, tiny_generator_dir, spotter):
    from ragadapt.retrievers import DenseRetriever
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.replug import train_replug

    system_dir = _system(tmp_path, tiny_embedder_dir)
    original = RAGSystem.load(system_dir, generator=False).retriever
    cfg = _config(tmp_path, system_dir, tiny_generator_dir, encoders="both", loss="contrastive", rounds=1)
    result = train_replug(cfg)
    trained = RAGSystem.load(result.system_dir, generator=False).retriever
    assert not trained.embedder.asymmetric and _changed(_params(original.embedder.model), trained.embedder.model)
    fresh = DenseRetriever.build(trained.store.passages, trained.embedder, show_progress=False)
    np.testing.assert_allclose(trained.index.vectors(), fresh.index.vectors(), atol=1e-5)
    # a rerun reuses the finished round instead of training again
    again = train_replug(cfg)
    assert again.global_step == 0


def test_replug_keeps_the_best_dev_select_checkpoint(tmp_path, tiny_embedder_dir, tiny_generator_dir, spotter,
                                                     monkeypatch):
    from ragadapt.system import RAGSystem
    from ragadapt.training.best import _checkpoint_weights
    from ragadapt.training.retrieval.replug import train_replug

    system_dir = _system(tmp_path, tiny_embedder_dir)
    _scripted_recall(monkeypatch, [0.1, 0.2, 0.9, 0.3, 0.3])  # steps 0, 2, 4, 6, 8: step 4 is the best
    cfg = _config(tmp_path, system_dir, tiny_generator_dir, rounds=1, dev_select=str(_dev_file(tmp_path, system_dir)))
    # 8 steps whatever the number of usable questions: questions whose candidates the tiny LM scores within 1e-6
    # of each other are dropped, and their count differed between runs (12 steps in one CI run, 8 in others)
    cfg.trainer.update({"save_steps": 2, "max_steps": 8})
    result = train_replug(cfg)
    scores = [json.loads(line) for line in (tmp_path / "out" / "round0" / "dev_select.jsonl").read_text().splitlines()]
    assert [s["step"] for s in scores] == [0, 2, 4, 6, 8]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rounds"]["round0"]["dev_select"]["best_step"] == 4
    trained = RAGSystem.load(result.system_dir, generator=False).retriever.embedder.query_model
    kept = _checkpoint_weights(trained, tmp_path / "out" / "round0" / "checkpoint-4")  # names without the prefix
    assert kept is not None and all(torch.equal(kept[n], p.detach().cpu()) for n, p in trained.named_parameters())
    last = _checkpoint_weights(trained, tmp_path / "out" / "round0" / "checkpoint-8")
    assert any(not torch.equal(last[n], p.detach().cpu()) for n, p in trained.named_parameters())


def test_replug_that_only_loses_hands_on_its_retriever(tmp_path, tiny_embedder_dir, tiny_generator_dir, spotter,
                                                      monkeypatch):
    """Dev-select below step 0 at every checkpoint: the system leaves with its retriever as it came in (the same
    checksum, so a pipeline's comparison reuses its input's row) and the report's after row is the before row."""
    from ragadapt.training.retrieval.replug import train_replug

    system_dir = _system(tmp_path, tiny_embedder_dir)
    _scripted_recall(monkeypatch, [0.9, 0.2, 0.1, 0.3, 0.3])
    cfg = _config(tmp_path, system_dir, tiny_generator_dir, rounds=1, dev_select=str(_dev_file(tmp_path, system_dir)))
    cfg.trainer.update({"save_steps": 2, "max_steps": 8})
    result = train_replug(cfg)
    manifests = [json.loads((Path(d) / "manifest.json").read_text()) for d in (result.system_dir, system_dir)]
    assert manifests[0]["components"]["retriever"]["checksum"] == manifests[1]["components"]["retriever"]["checksum"]
    stages = json.loads((tmp_path / "out" / "report.json").read_text())["stages"]
    assert stages["after (lsr, query)"] == stages["before"]


def test_reranker_keeps_the_start_when_every_step_scores_worse(tmp_path, tiny_embedder_dir, tiny_generator_dir,
                                                               spotter, monkeypatch):
    from ragadapt.system import RAGSystem
    from ragadapt.training import RerankerConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval.reranker import train_reranker

    system_dir = _system(tmp_path, tiny_embedder_dir)
    _scripted_recall(monkeypatch, [0.5, 0.4, 0.3, 0.2, 0.1], without_reranker=0.7)  # every step below step 0
    cfg = from_dict(RerankerConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "rr"), "scorer": str(tiny_generator_dir),
        "scorer_dtype": "fp32", "model": str(tiny_embedder_dir), "max_train": 16, "max_test": 4, "k": 4,
        "max_answer_eval": 0, "dev_set": None, "max_length": 64, "dev_select": str(_dev_file(tmp_path, system_dir)),
        "trainer": {"num_train_epochs": 2, "per_device_train_batch_size": 4, "learning_rate": 5e-3, "save_steps": 4}})
    result = train_reranker(cfg)
    report = json.loads((tmp_path / "rr" / "report.json").read_text())
    choice = report["dev_select"]
    assert choice["best_step"] == 0 and choice["without_reranker"] == 0.7 and not choice["kept_in_system"]
    torch.manual_seed(cfg.seed)  # the head as initialised before training
    from ragadapt.retrievers import CrossEncoderReranker

    start = CrossEncoderReranker.from_pretrained(cfg.model, max_length=cfg.max_length, prior_weight=cfg.prior_weight)
    start.zero_head()  # residual by default: the head starts at zero
    start = start.model
    kept = CrossEncoderReranker.load(result.component_dir).model
    assert all(torch.equal(a, b) for a, b in zip(start.state_dict().values(), kept.state_dict().values()))
    # below the retriever alone on dev-select: the system is handed on as it came in
    handed_on = RAGSystem.load(result.system_dir, generator=False)
    assert handed_on.reranker is None
    manifests = [json.loads((Path(d) / "manifest.json").read_text()) for d in (result.system_dir, system_dir)]
    assert manifests[0]["components"]["retriever"]["checksum"] == manifests[1]["components"]["retriever"]["checksum"]
    assert handed_on.config == RAGSystem.load(system_dir, generator=False).config
    # asked to keep it anyway, the system gets it
    cfg.require_gain, cfg.output_dir = False, str(tmp_path / "rr2")
    _scripted_recall(monkeypatch, [0.5, 0.4, 0.3, 0.2, 0.1], without_reranker=0.7)
    assert RAGSystem.load(train_reranker(cfg).system_dir, generator=False).reranker is not None


def test_residual_reranker_starts_as_the_retriever(tmp_path, tiny_embedder_dir):
    """prior_weight: with its head zeroed the reranker keeps the retriever's order (ties and all), a trained head
    corrects it, and the weight survives save/load."""
    from ragadapt.retrievers import CrossEncoderReranker
    from ragadapt.types import Hit, Passage

    reranker = CrossEncoderReranker.from_pretrained(str(tiny_embedder_dir), device="cpu", prior_weight=20.0)
    reranker.zero_head()
    texts = ["gamma delta", "alpha beta", "alpha", "unrelated words"]
    hits = [[Hit(Passage(id=f"p{i}", text=t), s, i) for i, (t, s) in enumerate(zip(texts, (0.9, 0.8, 0.8, 0.1)))]]
    assert [h.passage.id for h in reranker.rerank(["alpha"], hits)[0]] == ["p0", "p1", "p2", "p3"]
    assert [h.score for h in reranker.rerank(["alpha"], hits)[0]] == pytest.approx([18.0, 16.0, 16.0, 2.0])
    head = reranker.head()
    with torch.no_grad():
        head.bias.fill_(0.5)
    shifted = reranker.rerank(["alpha"], hits)[0]
    assert [h.score for h in shifted] == pytest.approx([18.5, 16.5, 16.5, 2.5], abs=1e-4)
    reranker.save(tmp_path / "rr")
    loaded = CrossEncoderReranker.load(tmp_path / "rr", device="cpu")
    assert loaded.prior_weight == 20.0 and [h.score for h in loaded.rerank(["alpha"], hits)[0]] == pytest.approx(
        [h.score for h in shifted], abs=1e-4)


def test_residual_listnet_loss_adds_the_prior_to_the_scores(tiny_embedder_dir):
    """The loss is REPLUG's KL at tau 1 on cross-encoder + prior_weight x retriever score, over ragged lists."""
    from ragadapt.retrievers import CrossEncoderReranker
    from ragadapt.training.retrieval.lsr import lsr_loss
    from ragadapt.training.retrieval.reranker import ResidualListNetLoss

    reranker = CrossEncoderReranker.from_pretrained(str(tiny_embedder_dir), device="cpu", prior_weight=10.0)
    reranker.zero_head()
    loss = ResidualListNetLoss(reranker.model, 10.0)
    inputs = [["q1", "q2"], [["a", "b", "c"], ["d", "e"]], [[0.5, 0.4, 0.1], [0.3, 0.2]]]
    labels = [torch.tensor([-1.0, -2.0, -3.0]), torch.tensor([-2.0, -1.0])]
    value = loss(inputs, labels)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    expected = lsr_loss(10.0 * torch.tensor([[0.5, 0.4, 0.1], [0.3, 0.2, 0.0]]),
                        torch.tensor([[-1.0, -2.0, -3.0], [-2.0, -1.0, 0.0]]), 1.0, 1.0, mask)
    assert float(value) == pytest.approx(float(expected), abs=1e-5)
    value.backward()  # only the zeroed head gets a gradient at the first step
    head = reranker.head()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_replug_config_errors_name_the_field(tmp_path):
    from ragadapt.errors import DataFormatError
    from ragadapt.training import ReplugConfig
    from ragadapt.training.retrieval.replug import _check

    with pytest.raises(DataFormatError, match="encoders=both"):
        _check(ReplugConfig(loss="contrastive"))
    with pytest.raises(DataFormatError, match="k must be >= 2"):
        _check(ReplugConfig(k=1))


def test_reranker_distillation_end_to_end(tmp_path, tiny_embedder_dir, tiny_generator_dir, spotter):
    from ragadapt.system import RAGSystem
    from ragadapt.training import RerankerConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval.reranker import train_reranker

    system_dir = _system(tmp_path, tiny_embedder_dir)
    original = RAGSystem.load(system_dir, generator=False).retriever
    cfg = from_dict(RerankerConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "rr"), "scorer": str(tiny_generator_dir),
        "scorer_dtype": "fp32", "model": str(tiny_embedder_dir), "max_train": 32, "max_test": 6, "k": 4,
        "max_answer_eval": 0, "dev_set": None, "dev_select": None, "max_length": 96,
        "trainer": {"num_train_epochs": 10, "per_device_train_batch_size": 4, "learning_rate": 5e-3, "logging_steps": 1}})
    result = train_reranker(cfg)
    losses = _losses(tmp_path / "rr")
    assert len(losses) >= 8 and np.mean(losses[-3:]) < np.mean(losses[:3])
    system = RAGSystem.load(result.system_dir, generator=False)
    assert system.reranker is not None and system.config.fetch_k == 4 and system.reranker.max_length == 96
    assert not _changed(_params(original.embedder.model), system.retriever.embedder.model)  # retriever frozen

    def word_embeddings(module):
        return next(v for k, v in module.state_dict().items() if k.endswith("word_embeddings.weight"))

    assert not torch.equal(word_embeddings(system.reranker.model), word_embeddings(original.embedder.model))
    questions = ["what is a list", "how do loops work"]
    reranked = system.retrieve(questions, k=2)
    candidates = system.retriever.search(questions, 4)
    expected = system.reranker.rerank(questions, candidates, 2)
    assert [[h.passage.id for h in hs] for hs in reranked] == [[h.passage.id for h in hs] for hs in expected]


@pytest.mark.parametrize("train_generator,train_retriever,schedule", [
    (True, True, "alternating"), (True, False, "sequential"), (False, True, "sequential")])
def test_ra_dit_trains_only_the_unfrozen_side(tmp_path, tiny_embedder_dir, tiny_generator_dir, train_generator,
                                              train_retriever, schedule):
    from ragadapt.generation import TransformersGenerator
    from ragadapt.system import RAGSystem
    from ragadapt.training import RADITConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval.ra_dit import train_ra_dit

    system_dir = _system(tmp_path, tiny_embedder_dir, tiny_generator_dir)  # no scorer: the system's generator scores
    original = RAGSystem.load(system_dir, generator=False).retriever
    base_gen = _params(TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu").model)
    cfg = from_dict(RADITConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "radit"), "scorer_dtype": "fp32", "max_train": 16, "max_test": 4, "k": 4, "rounds": 1, "max_answer_eval": 2,
        "dev_set": None, "dev_select": None, "lm_dev_select": None,
        "schedule": schedule, "cycles": 2, "train_generator": train_generator,
        "train_retriever": train_retriever, "lm_k": 2, "lm_max_train": 8, "lm_max_length": 256,
        "lm_trainer": {"max_steps": 3, "learning_rate": 3e-3, "logging_steps": 1},
        "trainer": {"num_train_epochs": 2, "per_device_train_batch_size": 8, "learning_rate": 3e-3, "logging_steps": 1}})
    result = train_ra_dit(cfg)
    stages = json.loads((tmp_path / "radit" / "report.json").read_text())["stages"]
    expected = (["lm-ft"] if train_generator else []) + (["r-ft"] if train_retriever else [])
    plan = expected * (2 if schedule == "alternating" else 1)
    assert list(stages) == ["before"] + [f"+ {s} ({i})" for i, s in enumerate(plan, 1)] + \
        (["R-ft retriever, base generator"] if train_generator and train_retriever else [])
    def checksum(system, name):
        return json.loads((system / "manifest.json").read_text())["components"][name]["checksum"]

    # OUTPUT_DIR/system is the last stage's system, its components as they are
    assert result.system_dir == tmp_path / "radit" / "system"
    last_stage = tmp_path / "radit" / f"stage{len(plan)}-{plan[-1]}" / "system"
    assert all(checksum(result.system_dir, c) == checksum(last_stage, c) for c in ("generator", "retriever"))
    # the system carries every component; only the trained ones differ from the input system's
    assert (checksum(result.system_dir, "generator") != checksum(system_dir, "generator")) == train_generator
    assert (checksum(result.system_dir, "retriever") != checksum(system_dir, "retriever")) == train_retriever
    final = RAGSystem.load(result.system_dir, device="cpu")
    assert _changed(base_gen, final.generator.model) == train_generator
    q_before = _params(original.embedder.model)
    assert _changed(q_before, final.retriever.embedder.query_model) == train_retriever
    assert not _changed(q_before, final.retriever.embedder.model)  # documents keep their encoder (encoders=query)
    if train_generator:  # LM-ft examples: each question once per top-k passage
        rows = (tmp_path / "radit" / "stage1-lm-ft" / "data" / "train.jsonl").read_text().splitlines()
        assert len(rows) == (4 if schedule == "alternating" else 8) * 2


def test_ra_dit_lm_ft_that_only_loses_hands_on_its_generator(tmp_path, tiny_embedder_dir, tiny_generator_dir,
                                                             monkeypatch):
    """LM-ft keeps its best dev-select step, the start included: scored worse at every checkpoint, the system
    leaves RA-DIT with the generator's weights as they came in."""
    from ragadapt.generation import TransformersGenerator
    from ragadapt.system import RAGSystem
    from ragadapt.training import RADITConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval.ra_dit import train_ra_dit

    from .test_best_checkpoint import scripted

    system_dir = _system(tmp_path, tiny_embedder_dir, tiny_generator_dir)
    calls = scripted(monkeypatch, [0.9, 0.2, 0.1, 0.3])
    cfg = from_dict(RADITConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "radit"), "scorer_dtype": "fp32", "max_train": 16,
        "max_test": 4, "k": 4, "max_answer_eval": 1, "dev_set": None, "dev_select": None, "train_retriever": False,
        "lm_dev_select": str(_dev_file(tmp_path, system_dir)), "lm_k": 2, "lm_max_train": 8, "lm_max_length": 256,
        "lm_trainer": {"max_steps": 3, "save_steps": 1, "learning_rate": 3e-3, "logging_steps": 1}})
    result = train_ra_dit(cfg)
    assert len(calls) == 4  # steps 0, 1, 2, 3
    scores = (tmp_path / "radit" / "stage1-lm-ft" / "dev_select.jsonl").read_text().splitlines()
    assert [json.loads(s)["step"] for s in scores] == [0, 1, 2, 3]
    base = _params(TransformersGenerator.from_pretrained(str(tiny_generator_dir), device="cpu").model)
    assert not _changed(base, RAGSystem.load(result.system_dir, device="cpu").generator.model)
    generator = [json.loads((d / "manifest.json").read_text())["components"]["generator"]
                 for d in (system_dir, result.system_dir)]
    assert generator[0]["checksum"] == generator[1]["checksum"]  # handed on as it came in, not re-saved weights
    stages = json.loads((tmp_path / "radit" / "report.json").read_text())["stages"]
    assert stages["+ lm-ft (1)"] == stages["before"]  # the same system: its results reused, not recomputed


def test_ra_dit_r_ft_that_only_loses_hands_on_its_retriever(tmp_path, tiny_embedder_dir, tiny_generator_dir,
                                                          spotter, monkeypatch):
    from ragadapt.training import RADITConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval.ra_dit import train_ra_dit

    system_dir = _system(tmp_path, tiny_embedder_dir, tiny_generator_dir)
    _scripted_recall(monkeypatch, [0.9, 0.2, 0.1, 0.3, 0.3])
    cfg = from_dict(RADITConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "radit"), "scorer_dtype": "fp32", "max_train": 16,
        "max_test": 4, "k": 4, "max_answer_eval": 0, "dev_set": None, "train_generator": False, "rounds": 1,
        "dev_select": str(_dev_file(tmp_path, system_dir)),
        "trainer": {"max_steps": 4, "save_steps": 1, "learning_rate": 3e-3, "logging_steps": 1}})
    result = train_ra_dit(cfg)
    manifests = [json.loads((Path(d) / "manifest.json").read_text()) for d in (result.system_dir, system_dir)]
    assert manifests[0]["components"]["retriever"]["checksum"] == manifests[1]["components"]["retriever"]["checksum"]
    stages = json.loads((tmp_path / "radit" / "report.json").read_text())["stages"]
    assert stages["+ r-ft (1)"] == stages["before"]


def test_ra_dit_own_targets_keep_the_generators_right_answers():
    """lm_targets=own: a (question, passage) pair the generator answers right keeps its own answer as the target;
    a wrong (or abstaining) answer is replaced by the gold span."""
    from ragadapt.prompts import RAGPrompt
    from ragadapt.training.retrieval.ra_dit import lm_ft_rows
    from ragadapt.types import Hit, Passage, QAExample

    paris, lyon = Passage("p#0", "Paris is the capital of France.", doc_id="p"), Passage("l#0", "Lyon.", doc_id="l")

    class Retriever:
        def search(self, questions, k):
            return [[Hit(paris, 1.0, 0), Hit(lyon, 0.5, 1)][:k] for _ in questions]

    class Generator:
        def count_tokens(self, text):
            return len(text.split())

        def generate(self, prompts, max_new_tokens, batch_size):  # right from the gold passage, wrong from Lyon's
            return ["It is Paris, on the Seine." if "Paris is the capital" in str(p) else "I don't know."
                    for p in prompts]

    example = QAExample(question="What is the capital of France?", answers=["Paris"], gold_doc_ids=["p"])
    rows = lm_ft_rows(Retriever(), [example], 2, RAGPrompt(), Generator().count_tokens, (Generator(), 16))
    assert [r["messages"][-1]["content"] for r in rows] == ["It is Paris, on the Seine.", "Paris"]
    spans = lm_ft_rows(Retriever(), [example], 2, RAGPrompt(), Generator().count_tokens)
    assert [r["messages"][-1]["content"] for r in spans] == ["Paris", "Paris"]
    assert rows[0]["messages"][:-1] == spans[0]["messages"][:-1]  # the same prompt either way


def test_ra_dit_lm_ft_data_is_reused_only_when_made_from_the_same_inputs(tmp_path):
    """Own targets cost a generation per pair: a rerun with the same questions, system and generator reuses the
    rows; another lm_k (or another system) builds them again."""
    from types import SimpleNamespace

    from ragadapt.training import RADITConfig
    from ragadapt.training.config import from_dict
    from ragadapt.training.retrieval.ra_dit import lm_ft_data
    from ragadapt.types import Hit, Passage, QAExample

    paris = Passage("p#0", "Paris is the capital of France.", doc_id="p")

    class Retriever:
        def search(self, questions, k):
            return [[Hit(paris, 1.0, i) for i in range(k)] for _ in questions]

    class Generator:
        calls = 0

        def count_tokens(self, text):
            return len(text.split())

        def generate(self, prompts, max_new_tokens, batch_size):
            Generator.calls += 1
            return ["Paris." for _ in prompts]

    system_dir = tmp_path / "system"
    system_dir.mkdir()
    (system_dir / "manifest.json").write_text("{}")
    system = SimpleNamespace(retriever=Retriever(), config=SimpleNamespace(system_prompt="Answer.", max_new_tokens=8))
    examples = [QAExample(question="What is the capital of France?", answers=["Paris"], gold_doc_ids=["p"])]
    cfg = from_dict(RADITConfig, {"system": str(system_dir), "output_dir": str(tmp_path / "o"), "lm_k": 2,
                                  "lm_targets": "own"})
    data = tmp_path / "o" / "stage1-lm-ft" / "data"
    first = lm_ft_data(system, examples, cfg, "gen", Generator(), str(system_dir), data)
    rows = first.read_text()
    assert Generator.calls == 1 and len(rows.splitlines()) == 2 and '"Paris."' in rows
    assert lm_ft_data(system, examples, cfg, "gen", Generator(), str(system_dir), data).read_text() == rows
    assert Generator.calls == 1  # reused
    wider = from_dict(RADITConfig, {"system": str(system_dir), "output_dir": str(tmp_path / "o"), "lm_k": 3,
                                    "lm_targets": "own"})
    assert len(lm_ft_data(system, examples, wider, "gen", Generator(), str(system_dir), data).read_text()
               .splitlines()) == 3 and Generator.calls == 2
    (system_dir / "manifest.json").write_text('{"files": {"index.faiss": "changed"}}')
    lm_ft_data(system, examples, wider, "gen", Generator(), str(system_dir), data)
    assert Generator.calls == 3  # another system: built again


def test_loss_curve_continues_across_rounds():
    from ragadapt.training.plot import cumulative_steps

    rows = [{"step": 5, "stage": "round0"}, {"step": 10, "stage": "round0"}, {"step": 5, "stage": "round1"},
            {"step": 10, "stage": "round1"}]
    assert cumulative_steps(rows) == ([5, 10, 15, 20], [10])
    assert cumulative_steps([{"step": 1}, {"step": 2}]) == ([1, 2], [])


def test_no_regression_gate_with_paired_counts(tmp_path):
    from ragadapt.training.retrieval.evaluation import dev_sets, gate_table, gates

    def rows(name, values):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"contains": v}) + "\n" for v in values))
        return str(path)

    stages = {"before": {"dev-test": {"recall@1": 0.5, "contains": 0.5, "predictions": rows("b", [1, 1, 0, 0])}},
              "after": {"dev-test": {"recall@1": 0.5, "contains": 0.25, "predictions": rows("a", [1, 0, 0, 0])}},
              "other": {"dev-test": {"recall@1": 0.75, "contains": 0.75, "predictions": rows("o", [1, 1, 1, 0])}}}
    checks = gates(stages)
    assert checks["after"]["dev-test"]["passes"] is False and checks["other"]["dev-test"]["passes"] is True
    assert checks["after"]["dev-test"]["paired"] == {"only_a": 0, "only_b": 1, "p": 1.0}
    assert "| after | dev-test | +0.0 | -25.0 | 0 / 1 (1.00) | FAIL |" in gate_table(checks)
    assert set(dev_sets("dev-select,dev-test")) == {"dev-select", "dev-test"} and dev_sets(None) == {}


def test_reranker_head_learns_at_its_own_rate(tiny_embedder_dir):
    """head_lr: the scoring head is its own parameter group of the optimizer, the encoder keeps the trainer's rate."""
    from types import SimpleNamespace

    from ragadapt.retrievers import CrossEncoderReranker
    from ragadapt.training.retrieval.reranker import head_optimizer

    reranker = CrossEncoderReranker.from_pretrained(str(tiny_embedder_dir), device="cpu", prior_weight=20.0)
    optimizer = head_optimizer(reranker, SimpleNamespace(learning_rate=5e-5, weight_decay=0.0), 1e-3)
    encoder, head = optimizer.param_groups
    assert (encoder["lr"], head["lr"]) == (5e-5, 1e-3)
    assert {id(p) for p in head["params"]} == {id(p) for p in reranker.head().parameters()}
    assert len(encoder["params"]) + len(head["params"]) == len(list(reranker.model.parameters()))
