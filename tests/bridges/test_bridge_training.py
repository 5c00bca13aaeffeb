"""`ragadapt train bridge` end to end on tiny models: silver sequences, SFT, GRPO; only the bridge's
weights change; the saved system carries the bridge."""

import json

import torch


def _state(path):
    from transformers import AutoModelForCausalLM

    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(str(path)).state_dict().items()}


def test_bridge_routine_end_to_end(tmp_path, tiny_embedder_dir, tiny_generator_dir):
    from ragadapt.system import RAGSystem
    from ragadapt.training import BridgeConfig
    from ragadapt.training.bridge import train_bridge
    from ragadapt.training.config import from_dict

    system_dir = tmp_path / "system"
    RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=300, device="cpu",
                    show_progress=False).save(system_dir)
    retriever_before = {k: v.clone() for k, v in RAGSystem.load(system_dir, generator=False).retriever.module.state_dict().items()}
    generator_before = _state(tiny_generator_dir)
    cfg = from_dict(BridgeConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "bridge"), "scorer": str(tiny_generator_dir),
        "scorer_dtype": "fp32", "model": str(tiny_generator_dir), "max_train": 12, "max_test": 4, "k": 3,
        "silver_max_len": 2, "passage_tokens": 16, "max_length": 384, "max_answer_eval": 4, "dev_set": None,
        "dev_select": None, "sft_trainer": {"max_steps": 3, "learning_rate": 3e-3, "logging_steps": 1},
        "rl_trainer": {"max_steps": 2, "learning_rate": 1e-3, "num_generations": 2, "per_device_train_batch_size": 4,
                       "max_completion_length": 6, "logging_steps": 1}})
    result = train_bridge(cfg)
    out = tmp_path / "bridge"
    silver = [json.loads(line) for line in (out / "silver.jsonl").read_text().splitlines() if line.strip()]
    assert len(silver) == 12 and all(set(s["sequence"]) <= set(s["candidates"]) for s in silver)
    metrics = [json.loads(line) for line in (out / "sft" / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in m for m in metrics)
    rl_metrics = [json.loads(line) for line in (out / "rl" / "metrics.jsonl").read_text().splitlines()]
    assert any("reward" in m for m in rl_metrics)
    # the bridge trained; the frozen generator and retriever did not
    bridge_after = _state(out / "rl" / "final")
    assert any(not torch.equal(generator_before[k], bridge_after[k]) for k in generator_before)
    assert all(torch.equal(v, _state(tiny_generator_dir)[k]) for k, v in generator_before.items())
    system = RAGSystem.load(result.system_dir, generator=False)
    assert system.bridge is not None and system.config.fetch_k == 3
    assert all(torch.equal(v, system.retriever.module.state_dict()[k]) for k, v in retriever_before.items())
    report = json.loads((out / "report.json").read_text())
    rows = report["held-out"]
    assert set(rows) == {"top-1", "top-3", "bridge (SFT)", "bridge (SFT + RL)"}
    assert rows["top-1"]["passages"] <= 1.0 and rows["top-3"]["passages"] <= 3.0


def test_sft_rows_shuffled_candidates_keep_the_target_on_the_silver_passage():
    from ragadapt.bridges.bgm import parse_selection
    from ragadapt.bridges.silver import SilverResult
    from ragadapt.training import BridgeConfig
    from ragadapt.training.bridge import sft_rows
    from ragadapt.types import Hit, Passage

    hits = [Hit(Passage(f"p{i}", f"text {i}", f"T{i}"), 1.0, i) for i in range(5)]
    silver = [SilverResult(f"q{n}", "q?", "a", [h.passage.id for h in hits], ["p3", "p0"], 0.0, -1.0)
              for n in range(20)]
    for fraction, moved in ((0.0, False), (1.0, True)):
        cfg = BridgeConfig(k=5, shuffle_fraction=fraction, seed=1)
        rows = sft_rows(silver, [hits] * 20, lambda t: len(t.split()), cfg)
        orders = set()
        for row in rows:
            shown = row["messages"][0]["content"]
            order = [line.split("] ")[1].split(":")[0] for line in shown.splitlines() if line.startswith("[")]
            picked = parse_selection(row["messages"][-1]["content"], order)
            assert [order[i] for i in picked] == ["T3", "T0"]  # the target follows the passages
            assert row["messages"][-1]["content"] == "T3\nT0"  # the titles, best first
            orders.add(tuple(order))
        assert (len(orders) > 1) == moved  # shuffled: the passages move from row to row


def test_balanced_keeps_every_informative_example():
    from ragadapt.bridges.silver import SilverResult
    from ragadapt.training.bridge import balanced

    silver = [SilverResult(str(i), "q", "a", ["p0", "p1"], ["p0"] if i < 8 else ["p1"], 0.0, 0.0) for i in range(10)]
    assert balanced(silver, None, 0) == list(range(10))
    order = balanced(silver, 0.5, 0)
    assert {8, 9} <= set(order) and len(order) == 4 and len(set(order)) == 4


def test_rl_reward_can_be_the_generators_answer_metric():
    import re

    import pytest

    from ragadapt.errors import DataFormatError
    from ragadapt.training import BridgeConfig
    from ragadapt.training.bridge import downstream_rewards
    from ragadapt.types import Passage

    class ReadingLM:  # answers with the title of the first passage it is shown
        def count_tokens(self, text):
            return len(text.split())

        def generate(self, prompts, max_new_tokens=24, batch_size=8):
            return [f"It is {m[0]}." if (m := re.findall(r"\[\d+\] (\w+)", p[-1]["content"])) else "no idea"
                    for p in prompts]

    (downstream, well_formed, length), weights = downstream_rewards(ReadingLM(), BridgeConfig(rl_reward="contains"))
    cands = [Passage(f"{t}#0", f"text of {t}", t).to_dict() for t in ("Rome", "Oslo")]
    columns = {"question": ["?"] * 3, "answer": ["Oslo"] * 3, "candidates": [cands] * 3}
    completions = ["Oslo\nRome", "Rome", "the third one"]
    assert downstream(None, completions, **columns) == [1.0, 0.0, 0.0]  # unparseable: no passage, no answer
    assert well_formed(None, completions, **columns) == [1.0, 1.0, 0.0]
    assert length(None, completions, **columns) == [-2.0, -1.0, 0.0]
    with pytest.raises(DataFormatError, match="rl_reward"):
        BridgeConfig(rl_reward="bleu")


def test_reward_memo_scores_each_selection_once():
    from ragadapt.training.bridge import memoized
    from ragadapt.types import Passage

    calls = []

    def score(items):
        calls.append(len(items))
        return [float(len(ps)) for _, _, ps in items]

    a, b = Passage("a#0", "x", "a"), Passage("b#0", "y", "b")
    cached = memoized(score)
    assert cached([("q", "A", [a]), ("q", "A", [a]), ("q", "A", [a, b])]) == [1.0, 1.0, 2.0]
    assert cached([("q", "A", [a, b]), ("q2", "A", [a])]) == [2.0, 1.0]
    assert calls == [2, 1]  # the repeated selection and the second call's known one were not rescored


def test_rl_leaves_out_questions_no_selection_rewards():
    from ragadapt.bridges.silver import SilverResult
    from ragadapt.training import BridgeConfig
    from ragadapt.training.bridge import hopeless

    silver = [SilverResult("right", "q", "a", ["p0"], ["p0"], 1.0, 0.0),
              SilverResult("none helps, none needed", "q", "a", ["p0"], [], 1.0, 1.0),
              SilverResult("hopeless", "q", "a", ["p0"], ["p0"], 0.0, 0.0)]
    same = BridgeConfig(silver_target="contains", rl_reward="contains")
    assert hopeless(silver, same) == {"hopeless"}
    assert hopeless(silver, BridgeConfig(silver_target="contains", rl_reward="f1")) == set()  # another reward
    assert hopeless(silver, BridgeConfig(silver_target="contains", rl_reward="contains", rl_skip_hopeless=False)) == set()


def test_a_bridge_is_handed_on_only_when_it_answers_dev_select_better_than_none(monkeypatch):
    from types import SimpleNamespace

    import ragadapt.eval.runner as runner
    from ragadapt.system import RAGConfig
    from ragadapt.training import BridgeConfig
    from ragadapt.training.bridge import choose_bridge

    system = SimpleNamespace(retriever=None, reranker=None, config=RAGConfig(k=1))
    bridges = {"bridge (SFT)": "sft", "bridge (SFT + RL)": "rl"}  # stand-ins: the scripted metric reads the name
    cfg = BridgeConfig(dev_select="dev-select:1", dev_select_max=3)
    for scores, expected in (({None: 0.5, "sft": 0.5, "rl": 0.6}, "bridge (SFT + RL)"),
                             ({None: 0.5, "sft": 0.5, "rl": 0.5}, None),  # a tie goes to no bridge
                             ({None: 0.4, "sft": 0.6, "rl": 0.6}, "bridge (SFT)")):  # ... and then to the SFT one
        monkeypatch.setattr(runner, "evaluate", lambda rag, examples, ks, show_progress, s=scores: {
            "contains": s[rag.bridge]})
        chosen, choice = choose_bridge(system, None, bridges, cfg)
        assert chosen == expected and choice["chosen"] == (expected or "no bridge")
    assert choose_bridge(system, None, bridges, BridgeConfig(dev_select=None)) == ("bridge (SFT + RL)", {})
