"""The BGM bridge: output parsing never yields foreign ids, fallbacks are counted, the pipeline uses the
bridge's order, and causal and seq2seq bridges save and load inside a RAGSystem."""

import random

import pytest

from ragadapt.bridges import BGMBridge, candidate_labels, format_selection, parse_selection
from ragadapt.types import Hit, Passage


LABELS = ["Paris", "Paris (2)", "France", "Black Sabbath", "Black"]


def test_candidate_labels_are_unique():
    assert candidate_labels(["Paris", "Paris", " France ", "", "paris"]) == \
        ["Paris", "Paris (2)", "France", "Passage 4", "paris (3)"]


def test_parse_selection_examples():
    assert parse_selection("France\nParis", LABELS) == [2, 0]
    assert parse_selection("  black sabbath \nBlack Sabbath\nBlack", LABELS) == [3, 4]  # exact match, no repeats
    assert parse_selection("Black Sabbath: the band", LABELS) == [3]  # longest label the line starts with
    assert parse_selection("Blackpool\nGermany\n[2]", LABELS) == [1]  # no partial words; a bare number counts
    assert parse_selection("none", LABELS) == [] and parse_selection("None of them", LABELS) == []
    assert parse_selection("the second one", LABELS) is None  # unparseable -> caller falls back
    assert parse_selection("France\nGermany", LABELS) == [2]  # lines that match nothing are skipped


def test_parse_selection_near_misses():
    labels = ["Triton (moon)", "Neptune", "Tibetans", "Soyuz (spacecraft)", "Soyuz (rocket)", "Mercury"]
    assert parse_selection("Triton", labels) == [0]  # the title without its qualifier
    assert parse_selection("Tibetan", labels) == [2] and parse_selection("M measles", ["Measles", "Pain"]) == [0]
    assert parse_selection("Soyuz", labels) is None  # two labels qualify it: ambiguous, not guessed
    assert parse_selection("Neptun\nMercury", labels) == [1, 5]
    assert parse_selection("Wolle II", ["Wilhelm II", "Wilhelm I"]) is None  # too far from any label
    assert format_selection([2, 0], LABELS) == "France\nParis" and format_selection([], LABELS) == "none"
    assert parse_selection(format_selection([4, 1, 3], LABELS), LABELS) == [4, 1, 3]


def test_parse_selection_never_returns_a_foreign_or_repeated_id():
    rng = random.Random(0)
    alphabet = "0123456789 ,-[]none.abcP\n"
    for _ in range(3000):
        labels = candidate_labels(["".join(rng.choice("abcP ") for _ in range(rng.randint(0, 4)))
                                   for _ in range(rng.randint(0, 12))])
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        picked = parse_selection(text, labels)
        assert picked is None or (all(0 <= i < len(labels) for i in picked) and len(set(picked)) == len(picked))


class Scripted:
    name = "scripted"

    def __init__(self, replies):
        self.replies = list(replies)
        self.prompts = []

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, prompts, max_new_tokens=16, batch_size=8, **kw):
        self.prompts += prompts
        return [self.replies.pop(0) for _ in prompts]


def hits(n):
    return [Hit(Passage(id=f"p{i}", title=f"T{i}", text="word " * 200), 1.0 - i / 10, i) for i in range(n)]


def test_bridge_orders_selects_and_falls_back():
    bridge = BGMBridge(Scripted(["T2\nT0", "no idea", "none"]), passage_tokens=8, fallback_k=2)
    first = bridge.select_batch(["q1", "q2", "q3"], [hits(4), hits(4), hits(4)])
    assert [[h.passage.id for h in hs] for hs in first] == [["p2", "p0"], ["p0", "p1"], []]
    assert [h.rank for h in first[0]] == [0, 1]
    assert (bridge.stats.calls, bridge.stats.fallbacks, bridge.stats.mean_passages) == (3, 1, 4 / 3)
    shown = bridge.generator.prompts[0][0]["content"]
    assert "[4] T3: word word" in shown and shown.count("word") == 4 * 8  # each passage cut to 8 tokens


def test_long_candidate_lists_are_truncated_to_max_candidates():
    bridge = BGMBridge(Scripted(["T12\nT1"]), max_candidates=5)
    assert [h.passage.id for h in bridge.select_batch(["q"], [hits(15)])[0]] == ["p1"]  # T12 was not shown: dropped
    assert "[6]" not in bridge.generator.prompts[0][0]["content"]


def test_pipeline_uses_the_bridge_order(tiny_embedder, tiny_generator):
    from ragadapt.retrievers import DenseRetriever
    from ragadapt.system import RAGConfig, RAGSystem

    passages = [Passage(id=f"d{i}", text=f"document number {i} about topic {i}") for i in range(6)]
    retriever = DenseRetriever.build(passages, tiny_embedder, show_progress=False)
    system = RAGSystem(retriever, tiny_generator, bridge=BGMBridge(Scripted(["Passage 4\nPassage 2", "none"])),
                       config=RAGConfig(k=3, fetch_k=5, max_new_tokens=4))
    candidates = system.retrieve(["topic"], 5)[0]
    answer = system.answer("topic")[0]
    assert [h.passage.id for h in answer.hits] == [candidates[3].passage.id, candidates[1].passage.id]
    from ragadapt.eval.runner import evaluate
    from ragadapt.types import QAExample

    summary = evaluate(system, [QAExample("topic", ["x"])], ks=(1,), show_progress=False)
    assert summary["n_passages"] == 0.0  # the bridge said "none": the generator saw no passage


def _tiny_seq2seq(tmp_path, tiny_embedder_dir):
    from transformers import AutoTokenizer, EncoderDecoderModel

    model = EncoderDecoderModel.from_encoder_decoder_pretrained(str(tiny_embedder_dir), str(tiny_embedder_dir))
    tok = AutoTokenizer.from_pretrained(str(tiny_embedder_dir))
    model.config.decoder_start_token_id, model.config.pad_token_id = tok.cls_token_id, tok.pad_token_id
    model.config.eos_token_id = model.generation_config.eos_token_id = tok.sep_token_id
    model.generation_config.decoder_start_token_id = tok.cls_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(tmp_path / "s2s")
    tok.save_pretrained(tmp_path / "s2s")
    return tmp_path / "s2s"


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_bridge_saves_and_loads_inside_a_system(tmp_path, kind, tiny_generator_dir, tiny_embedder_dir, tiny_embedder):
    from ragadapt.retrievers import DenseRetriever
    from ragadapt.system import RAGConfig, RAGSystem

    source = str(tiny_generator_dir) if kind == "causal" else str(_tiny_seq2seq(tmp_path, tiny_embedder_dir))
    bridge = BGMBridge.from_pretrained(source, device="cpu", max_candidates=4, passage_tokens=16)
    passages = [Passage(id=f"d{i}", text=f"document number {i}") for i in range(6)]
    system = RAGSystem(DenseRetriever.build(passages, tiny_embedder, show_progress=False), None, bridge=bridge,
                       config=RAGConfig(fetch_k=4))
    system.save(tmp_path / "sys")
    loaded = RAGSystem.load(tmp_path / "sys", generator=False, device="cpu")
    assert isinstance(loaded.bridge, BGMBridge) and loaded.bridge.max_candidates == 4
    candidates = loaded.retrieve(["document"], 4)[0]
    chosen = loaded.bridge.select_batch(["document"], [candidates])[0]
    assert {h.passage.id for h in chosen} <= {h.passage.id for h in candidates}  # random weights, no foreign ids
