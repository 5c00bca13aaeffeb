"""Each workflow on a scripted generator: the exact trajectory, batching, fallbacks and cycle detection."""

import json

from ragadapt.agents import IterativeRetrieval, PlannerWorker, ReActAgent, default_tools, summarize
from ragadapt.agents.planner import levels, parse_plan
from ragadapt.agents.trajectory import load_trajectories, save_trajectories

AGENT_SCRIPT = {  # question -> the agent's reply at each step
    "Where was the painter of the Mona Lisa born?": [
        "<think>first the painter</think><search>Mona Lisa painter</search><information>made up</information>",
        "<search>mona lisa  PAINTER</search>",  # the same search again: a cycle
        "<read>p2</read>",
        '<search>{"query": "Vinci", "k": "1"}</search>',  # wrong argument type
        "<answer>Vinci</answer>",
    ],
    "Who invented the telephone?": ["I am not sure what to do."] * 5,
}


def agent_reply(messages):
    if not messages[0]["content"].startswith("You answer questions by searching"):
        return "direct answer"  # the fallback's plain RAG prompt
    question = messages[1]["content"].removeprefix("Question: ")
    turn = sum(m["role"] == "assistant" for m in messages)
    return AGENT_SCRIPT[question][turn]


def test_react_exact_trajectory(retriever, scripted):
    gen = scripted(agent_reply)
    agent = ReActAgent(gen, default_tools(retriever, k=2), max_steps=5, fallback_retriever=retriever)
    good, lost = agent.run(list(AGENT_SCRIPT))
    assert [(s.kind, s.tool, s.error) for s in good.steps] == [
        ("action", "search", False), ("action", "search", True), ("action", "read", False),
        ("action", "search", True), ("action", "answer", False)]
    assert good.steps[0].output == "<think>first the painter</think><search>Mona Lisa painter</search>"
    assert good.steps[0].passages == ["p1", "p2"]
    assert "already ran this search" in good.steps[1].observation and good.steps[2].passages == ["p2"]
    assert "'k' must be integer" in good.steps[3].observation
    assert (good.answer, good.stop) == ("Vinci", "answer")
    assert good.stats()["searches"] == 3 and good.repeated_searches() == 1 and good.tool_errors() == 2
    # the repeat and the bad call never reached the index; the last query is the fallback's
    assert retriever.queries == ["Mona Lisa painter", "Who invented the telephone?"]
    # the conversation the model saw at its last step: no hallucinated text after an action, observations wrapped
    last = gen.calls[4][0]
    assert last[2] == {"role": "assistant", "content": good.steps[0].output}
    assert last[3]["content"].startswith("<information>[p1] Mona Lisa:")
    # never a valid action: bounded, then a direct answer from the question's own top-k (counted)
    assert [s.kind for s in lost.steps] == ["format_error"] * 5 + ["fallback"]
    assert (lost.answer, lost.stop, lost.format_errors()) == ("direct answer", "fallback", 5)
    assert lost.steps[-1].passages == ["p4", "p1", "p2"]
    # both questions advanced in lockstep: one generator call per step, plus one for the fallback
    assert [len(c) for c in gen.calls] == [2, 2, 2, 2, 2, 1]
    summary = summarize([good, lost])
    assert summary["searches"] == 1.5 and summary["format_errors"] == 2.5 and summary["stop_fallback"] == 0.5


def test_trajectories_save_load_and_render(tmp_path, retriever, scripted):
    agent = ReActAgent(scripted(agent_reply), default_tools(retriever, k=2), max_steps=5)
    trajectories = agent.run(list(AGENT_SCRIPT))
    path = save_trajectories(tmp_path / "t.jsonl", trajectories)
    row = json.loads(path.read_text().splitlines()[0])
    assert row["stats"]["searches"] == 3 and row["steps"][2]["tool"] == "read"
    again = load_trajectories(path)
    assert [t.to_dict() for t in again] == [t.to_dict() for t in trajectories]
    text = again[0].render()
    assert '1. action -> search({"query": "Mona Lisa painter"})' in text
    assert "Answer: Vinci   (stop: answer; 3 searches, 0 format errors" in text


def test_iterative_conditions_each_query_on_the_draft(retriever, scripted):
    def reply(messages):  # drafts name the painter until his passage has been read
        return "Vinci" if "polymath" in messages[-1]["content"] else "Italian polymath Leonardo"

    flow = IterativeRetrieval(scripted(reply), retriever, k=1, rounds=3)
    (t,) = flow.run(["Where was the Mona Lisa painter born?"])
    assert [s.kind for s in t.steps] == ["retrieve", "draft", "retrieve", "draft", "retrieve", "answer"]
    assert retriever.queries == ["Where was the Mona Lisa painter born?",
                                 "Where was the Mona Lisa painter born? Italian polymath Leonardo",
                                 "Where was the Mona Lisa painter born? Vinci"]
    assert [s.passages for s in t.steps[::2]] == [["p1"], ["p2"], []]
    assert (t.answer, t.steps[-1].passages) == ("Vinci", ["p2", "p1"])  # newest round first


def test_iterative_stops_when_nothing_new(retriever, scripted):
    flow = IterativeRetrieval(scripted(lambda m: "Mona Lisa"), retriever, k=1, rounds=4)
    (t,) = flow.run(["Mona Lisa portrait"])
    # round 2's query finds p1 again: nothing new, no more rounds
    assert [s.kind for s in t.steps] == ["retrieve", "draft", "retrieve", "answer"]
    assert t.steps[2].observation == "0 new passages" and t.steps[-1].passages == ["p1"]


def test_plan_parsing_and_levels():
    subs = parse_plan("Plan:\n1. Who painted the Mona Lisa?\n2) Where was #1 born?\n3. What is #5?\n4 - Who is #3?", 3)
    assert [(s.number, s.text, s.depends) for s in subs] == [
        (1, "Who painted the Mona Lisa?", set()), (2, "Where was #1 born?", {1}), (3, "What is ?", set())]
    assert [[s.number for s in lvl] for lvl in levels(subs)] == [[1, 3], [2]]
    assert parse_plan("no numbered lines here", 3) == []


def test_planner_batches_independent_subquestions(retriever, scripted):
    plans = {"Where was the painter of the Mona Lisa born?": "1. Who painted the Mona Lisa?\n2. Where was #1 born?",
             "Who invented the telephone?": "I cannot plan this."}
    answers = {"Who painted the Mona Lisa?": "Leonardo da Vinci", "Where was Leonardo da Vinci born?": "Vinci",
               "Who invented the telephone?": "Bell"}

    def reply(messages):
        user = messages[-1]["content"]
        if messages[0]["content"].startswith("Split the question"):
            return plans[user]
        if "Sub-question:" in user:
            return "Vinci" if "Mona Lisa" in user else "Alexander Graham Bell"
        return answers[user.rsplit("Question: ", 1)[1]]

    gen = scripted(reply)
    first, second = PlannerWorker(gen, retriever, k=1).run(list(plans))
    assert [(s.kind, s.output) for s in first.steps] == [
        ("plan", plans["Where was the painter of the Mona Lisa born?"]),
        ("subquestion", "Leonardo da Vinci"), ("subquestion", "Vinci"), ("aggregate", "Vinci")]
    assert first.steps[2].args["query"] == "Where was Leonardo da Vinci born?"  # #1 filled with its answer
    assert first.steps[-1].passages == ["p2", "p1"]  # the last sub-question's passage first
    assert second.meta["plan_fallback"] and second.steps[1].args["query"] == "Who invented the telephone?"
    assert second.answer == "Alexander Graham Bell"
    # calls: plans (2), level 1 of both questions together (2), level 2 (1), aggregation (2)
    assert [len(c) for c in gen.calls] == [2, 2, 1, 2]


def test_gold_document_recall_counts_each_gold_article(retriever, scripted):
    from ragadapt.agents.evaluation import document_of, gold_document_recall
    from ragadapt.types import QAExample

    agent = ReActAgent(scripted(agent_reply), default_tools(retriever, k=2), max_steps=5, fallback_retriever=retriever)
    good, lost = agent.run(list(AGENT_SCRIPT))  # good saw p1, p2; lost's fallback saw p4, p1, p2
    examples = [QAExample("q", ["Vinci"], gold_doc_ids=["p2", "p3"]), QAExample("q", ["x"], gold_doc_ids=["p4"])]
    assert gold_document_recall([good, lost], examples) == (0.5 + 1.0) / 2
    assert gold_document_recall([good], [QAExample("q", ["Vinci"])]) is None
    assert document_of("Mona Lisa#3") == "Mona Lisa" and document_of("a#b#0") == "a#b"


def test_answers_per_kind_of_question():
    from ragadapt.agents.evaluation import answers_by_kind
    from ragadapt.agents.trajectory import Trajectory
    from ragadapt.types import QAExample

    runs = [Trajectory("a", "react", answer="Dune"), Trajectory("b", "react", answer="no"),
            Trajectory("c", "react", answer="yes"), Trajectory("d", "react", answer="Paris"),
            Trajectory("e", "react", answer="Dune or Lolita")]
    examples = [QAExample("Which came first, Dune or Lolita?", ["Dune"], meta={"kind": "comparison"}),
                QAExample("b", ["yes"], meta={"kind": "comparison"}),
                QAExample("c", ["yes"], meta={"style": "comparison-yes-no"}),  # a recipe's style counts as kind
                QAExample("d", ["Paris"]),  # no kind: left out
                QAExample("Which came first, Dune or Lolita?", ["Dune"], meta={"kind": "comparison"})]
    assert answers_by_kind(runs, examples) == {  # naming both options is contained, not strictly right
        "comparison": {"n": 3, "contains": 2 / 3, "strict": 1 / 3},
        "comparison-yes-no": {"n": 1, "contains": 1.0, "strict": 1.0}}
    assert answers_by_kind(runs[3:4], examples[3:4]) == {}
