"""`ragadapt train agent` on tiny models: expert warm-up episodes, GRPO on multi-turn episodes with the
observation mask; only the policy's weights change; the comparison table is written."""

import json

import pytest
import torch

from ragadapt.types import Passage, QAExample


def test_expert_episodes_follow_the_question_shape(tiny_generator):
    from ragadapt.retrievers import BM25Retriever
    from ragadapt.training.agent import expert_episodes, react_agent
    from ragadapt.training.config import AgentConfig

    passages = [Passage("m", "The Mona Lisa is a portrait painting by Leonardo da Vinci, begun in 1503.", "Mona Lisa",
                        "Mona Lisa"),
                Passage("l", "Leonardo da Vinci was an Italian polymath.", "Leonardo da Vinci", "Leonardo da Vinci"),
                Passage("t", "The telephone was invented by Bell in 1876.", "Telephone", "Telephone")]
    retriever = BM25Retriever.build(passages)
    cfg = AgentConfig(k=1, snippet_words=None)
    agent = react_agent(tiny_generator, retriever, cfg)
    bridge = QAExample('What was X? (X is the name left out of: "The Mona Lisa is a portrait painting by X.")',
                       ["Italian polymath"], gold_doc_ids=["Mona Lisa", "Leonardo da Vinci"])
    named = QAExample("Was the Mona Lisa begun before the telephone was invented?", ["yes"],
                      gold_doc_ids=["Mona Lisa", "Telephone"])
    one_hop = QAExample("Who painted the Mona Lisa portrait?", ["Leonardo da Vinci"], gold_doc_ids=["Mona Lisa"])
    no_year = QAExample("Was Leonardo da Vinci older than the telephone?", ["yes"],
                        gold_doc_ids=["Leonardo da Vinci", "Telephone"])  # his passage shows no year to compare
    unreachable = QAExample("Who invented the telephone?", ["Graham Bell"], gold_doc_ids=["Telephone"])
    rows, counts = expert_episodes(retriever, [bridge, named, one_hop, no_year, unreachable], cfg, agent)
    assert counts == {"skipped": {"bridge not in the first results": 0, "named article not found": 1,
                                  "answer not in the results": 1},
                      "kept": {"bridge": 1, "named": 1, "one-hop": 1}}
    turns = [[m["content"] for m in row["messages"][2::2]] for row in rows]
    assert turns == [["<search>The Mona Lisa is a portrait painting by</search>", "<search>Leonardo da Vinci</search>",
                      "<answer>Italian polymath</answer>"],
                     ["<search>Mona Lisa</search>", "<search>Telephone</search>", "<answer>yes</answer>"],
                     ["<search>Who painted the Mona Lisa portrait?</search>", "<answer>Leonardo da Vinci</answer>"]]
    assert [m["role"] for m in rows[0]["messages"][2:]] == ["assistant", "user", "assistant", "user", "assistant"]
    assert rows[0]["messages"][3]["content"].startswith("<information>[m] Mona Lisa:")


def test_single_shot_replay_keeps_the_policys_right_one_hop_answers():
    from ragadapt.retrievers import BM25Retriever
    from ragadapt.system import RAGConfig, RAGSystem
    from ragadapt.training.agent import single_shot_replay

    class Scripted:
        def count_tokens(self, text):
            return len(text.split())

        def generate(self, messages, max_new_tokens=32, batch_size=8):
            return ["Leonardo da Vinci." if "painted" in m[-1]["content"] else "Edison" for m in messages]

    passages = [Passage("m", "The Mona Lisa is a portrait painting by Leonardo da Vinci.", "Mona Lisa", "Mona Lisa"),
                Passage("t", "The telephone was invented by Bell.", "Telephone", "Telephone")]
    system = RAGSystem(BM25Retriever.build(passages), Scripted(), config=RAGConfig(k=1))
    examples = [QAExample("Who painted the Mona Lisa?", ["Leonardo da Vinci"], gold_doc_ids=["Mona Lisa"]),
                QAExample("Who invented the telephone?", ["Bell"], gold_doc_ids=["Telephone"]),
                QAExample('What was X? (X is the name left out of: "A painting by X.")', ["polymath"],
                          gold_doc_ids=["Mona Lisa", "Leonardo da Vinci"])]  # two-hop: not replayed
    rows, tried = single_shot_replay(system, system.generator, examples, limit=5)
    assert tried == 2 and len(rows) == 1  # the wrong answer (Edison) is not kept
    messages = rows[0]["messages"]
    assert messages[-1] == {"role": "assistant", "content": "Leonardo da Vinci."}
    assert "Leonardo da Vinci" in messages[-2]["content"] and "Who painted the Mona Lisa?" in messages[-2]["content"]
    assert single_shot_replay(system, system.generator, examples, limit=0) == ([], 0)


def test_opening_query_stops_at_the_left_out_name():
    from ragadapt.training.agent import opening_query

    assert opening_query('When? (X is the name left out of: "Havana is the capital of X.")') == "Havana is the capital of"
    assert opening_query('Who? (X is the name left out of: "The X River is long.")') == "The"
    assert opening_query("Who wrote Hamlet?") == "Who wrote Hamlet?"


def test_train_agent_end_to_end(tmp_path, tiny_embedder_dir, tiny_generator_dir):
    from transformers import AutoModelForCausalLM

    from ragadapt.system import RAGSystem
    from ragadapt.training import AgentConfig
    from ragadapt.training.agent import train_agent
    from ragadapt.training.config import from_dict

    system_dir = tmp_path / "system"
    RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=300, device="cpu", bm25=True,
                    show_progress=False).save(system_dir)  # BM25 finds the titles: expert episodes exist
    retriever_before = {k: v.clone() for k, v in
                        RAGSystem.load(system_dir, generator=False).retriever.module.state_dict().items()}
    base = {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(tiny_generator_dir).state_dict().items()}
    cfg = from_dict(AgentConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "agent"), "model": str(tiny_generator_dir),
        "recipe": "template", "max_train": 24, "max_test": 3, "k": 1, "snippet_words": 12, "max_steps": 2,
        "max_new_tokens": 12, "max_eval": 3, "workflows": ["single-shot", "react"], "dev_select": None,
        # the warm-up teaches the random tiny model the action tags, so rollouts differ in reward
        "warmup_trainer": {"max_steps": 80, "learning_rate": 1e-2, "logging_steps": 5},
        # 4 steps of 2 groups of 4: the first step is the LR warm-up (LR 0), and a later one must see rewards differ
        "trainer": {"max_steps": 4, "learning_rate": 1e-3, "num_generations": 4, "per_device_train_batch_size": 8,
                    "logging_steps": 1}})
    result = train_agent(cfg)
    out = tmp_path / "agent"
    metrics = [json.loads(line) for line in (out / "rl" / "metrics.jsonl").read_text().splitlines()]
    assert any(m.get("reward_std", 0) > 0 and m.get("learning_rate", 0) > 0 for m in metrics)
    assert any("loss" in m for m in metrics)
    warm = AutoModelForCausalLM.from_pretrained(out / "warmup" / "final").state_dict()
    trained = AutoModelForCausalLM.from_pretrained(out / "rl" / "final").state_dict()
    assert any(not torch.equal(warm[k], trained[k]) for k in warm)  # RL changed the warmed-up policy ...
    assert all(torch.equal(v, AutoModelForCausalLM.from_pretrained(tiny_generator_dir).state_dict()[k])
               for k, v in base.items())  # ... from a copy: the starting model is untouched
    after = RAGSystem.load(system_dir, generator=False).retriever.module.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in retriever_before.items())  # the retriever stayed frozen
    report = json.loads((out / "report.json").read_text())
    assert report.pop("provenance")["settings"]["config"]["max_train"] == cfg.max_train
    assert set(report) == {"single-shot", "react (base policy)", "react (warm-up SFT)", "react (warm-up SFT + RL)"}
    assert all(r["n"] == 3 and "searches" in r for r in report.values())
    assert (out / "trajectories" / "react_(warm-up_SFT_+_RL).jsonl").exists()
    assert result.final_dir == out / "rl" / "final"



@pytest.mark.parametrize("scores, chosen", [
    # (react, single-shot) per policy: base, warm-up, warm-up + RL
    ([(0.2, 0.5), (0.3, 0.5), (0.4, 0.5)], "react (warm-up SFT + RL)"),  # the best ReAct answers
    ([(0.2, 0.5), (0.3, 0.5), (0.4, 0.4)], "react (warm-up SFT)"),  # RL answers single-shot worse: not eligible
    ([(0.4, 0.5), (0.4, 0.6), (0.3, 0.5)], "base policy"),  # a tie goes to the smaller change
])
def test_the_system_keeps_the_policy_that_answers_dev_select_best(tmp_path, tiny_embedder_dir, tiny_generator_dir,
                                                                 monkeypatch, scores, chosen):
    """Scripted dev-select answers (ReAct, then single-shot, per policy) decide which policy becomes the system's
    generator; when none beats the base policy the system is handed on with its generator unchanged."""
    from ragadapt.system import RAGSystem
    from ragadapt.training import AgentConfig, routine
    from ragadapt.training.config import from_dict

    calls = iter(value for pair in scores for value in pair)
    monkeypatch.setattr("ragadapt.agents.evaluation.evaluate_agent",
                        lambda agent, examples, **kw: ({"contains": next(calls)}, []))
    # the warm-up must happen whatever a random tiny embedder finds (it kept 2 of 12 here and none on another CPU)
    monkeypatch.setattr("ragadapt.training.agent.expert_episodes", lambda retriever, examples, cfg, agent: (
        [{"messages": agent.first_messages(e.question) + [{"role": "assistant", "content": f"<answer>{e.answers[0]}"
                                                           "</answer>"}]} for e in examples], {}))
    system_dir = tmp_path / "system"
    system = RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=300, device="cpu",
                             bm25=True, show_progress=False)
    system.generator_ref = str(tiny_generator_dir)
    system.save(system_dir)
    cfg = from_dict(AgentConfig, {
        "system": str(system_dir), "output_dir": str(tmp_path / "agent"), "recipe": "template", "max_train": 12,
        "max_test": 2, "k": 1, "snippet_words": 12, "max_steps": 1, "max_new_tokens": 8, "evaluate": False,
        "dev_select_max": 2, "warmup_trainer": {"max_steps": 2, "learning_rate": 1e-2, "logging_steps": 1},
        "trainer": {"max_steps": 1, "num_generations": 2, "per_device_train_batch_size": 2, "logging_steps": 1}})
    result = routine("agent")(cfg)
    out = tmp_path / "agent"
    assert result.stats["dev_select"]["chosen"] == chosen and next(calls, None) is None  # every score was asked for
    generator = json.loads((result.system_dir / "manifest.json").read_text())["components"]["generator"]
    before = json.loads((system_dir / "manifest.json").read_text())["components"]["generator"]
    if chosen == "base policy":
        assert result.system_dir == out / "system" and generator["checksum"] == before["checksum"]
    else:
        directory = {"react (warm-up SFT)": out / "warmup" / "final", "react (warm-up SFT + RL)": out / "rl" / "final"}
        assert result.final_dir == directory[chosen] and generator["checksum"] != before["checksum"]
        assert generator["provenance"]["method"] == "agent"


def test_rollouts_search_a_served_index(tmp_path, tiny_embedder_dir, tiny_generator_dir):
    """`retriever: URL`: the warm-up, the GRPO rollouts and the comparison search the index another process serves
    (every process of an accelerate run shares it); the questions still come from the system's passages."""
    pytest.importorskip("fastapi")
    from ragadapt.server import serve_in_thread
    from ragadapt.system import RAGSystem
    from ragadapt.training import AgentConfig
    from ragadapt.training.agent import train_agent
    from ragadapt.training.config import from_dict

    system_dir = tmp_path / "system"
    RAGSystem.build("wiki", embedder=str(tiny_embedder_dir), generator=None, limit=300, device="cpu", bm25=True,
                    show_progress=False).save(system_dir)
    with serve_in_thread(RAGSystem.load(system_dir, generator=False).retriever) as served:
        from ragadapt.retrievers.remote import RemoteRetriever

        cfg = from_dict(AgentConfig, {
            "system": str(system_dir), "output_dir": str(tmp_path / "agent"), "model": str(tiny_generator_dir),
            "retriever": served.url, "recipe": "template", "max_train": 8, "max_test": 2, "k": 1,
            "snippet_words": 12, "max_steps": 1, "max_new_tokens": 8, "max_eval": 2, "workflows": ["react"],
            "dev_select": None, "warmup_trainer": {"max_steps": 2, "logging_steps": 1},
            "trainer": {"max_steps": 1, "num_generations": 2, "per_device_train_batch_size": 2, "logging_steps": 1}})
        train_agent(cfg)
        requests = RemoteRetriever(served.url).health()["requests"]
    episodes = [json.loads(line) for line in
                (tmp_path / "agent" / "trajectories" / "react_(warm-up_SFT_+_RL).jsonl").read_text().splitlines()]
    assert requests >= 2 + 2 and len(episodes) == 2  # rollouts (2 generations, 1 step each) and the comparison


def test_the_agents_retriever_must_be_a_url():
    from ragadapt.errors import DataFormatError
    from ragadapt.training import AgentConfig

    with pytest.raises(DataFormatError, match="retriever must be the URL of `ragadapt serve`"):
        AgentConfig(retriever="runs/wiki")
