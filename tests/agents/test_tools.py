"""The tool protocol: schema validation names the tool and the field, every failure is an observation."""

import pytest

from ragadapt.agents.actions import parse_action
from ragadapt.agents.tools import Tool, ToolArgumentError, Toolbox, default_tools, validate_args

SCHEMA = {"type": "object", "required": ["query"],
          "properties": {"query": {"type": "string"}, "k": {"type": "integer", "minimum": 1, "maximum": 5,
                                                             "default": 2}}}


def test_validate_args_fills_defaults_and_names_the_field():
    assert validate_args("search", SCHEMA, {"query": "x"}) == {"query": "x", "k": 2}
    for bad, words in [({"k": 1}, "missing required argument(s) query"),
                       ({"query": "x", "k": "five"}, "'k' must be integer, got str"),
                       ({"query": "x", "k": True}, "'k' must be integer, got bool"),
                       ({"query": "x", "k": 9}, "'k' must be in [1, 5]"),
                       ({"query": "x", "top": 1}, "unknown argument(s) top"),
                       ({"query": "  "}, "'query' is empty"),
                       (["x"], "must be a JSON object")]:
        with pytest.raises(ToolArgumentError, match=r"^search: .*" + words.replace("[", r"\[").replace("(", r"\(")
                           .replace(")", r"\)")):
            validate_args("search", SCHEMA, bad)


def test_tool_errors_come_back_as_observations(retriever):
    tools = default_tools(retriever, k=2)
    obs = tools.call("search", {"query": "Mona Lisa painting"})
    assert not obs.error and [h.passage.id for h in obs.hits] == ["p1", "p2"] and obs.text.startswith("[p1] Mona Lisa:")
    assert tools.call("search", {"query": "x", "k": "two"}).error
    assert "unknown tool 'python'" in tools.call("python", {"code": "1+1"}).text
    missing = tools.call("read", {"passage_id": "nope"})
    assert missing.error and "no passage with id 'nope'" in missing.text
    assert tools.call("read", {"passage_id": "[p3]"}).hits[0].passage.id == "p3"
    assert tools.call("answer", {"text": " Paris "}).final

    def broken(query, k):
        raise RuntimeError("disk on fire")

    box = Toolbox([Tool("search", "d", SCHEMA, broken)])
    obs = box.call("search", {"query": "x"})
    assert obs.error and "RuntimeError: disk on fire" in obs.text


def test_empty_index_is_an_observation(retriever):
    retriever.passages = []
    obs = default_tools(retriever).call("search", {"query": "anything"})
    assert obs.error and "index is empty" in obs.text


def test_tool_specs_and_prompt_description(retriever):
    tools = default_tools(retriever)
    spec = tools.specs()[0]["function"]
    assert spec["name"] == "search" and spec["parameters"]["required"] == ["query"]
    assert "<search>query</search>" in tools.describe() and "<read>passage_id</read>" in tools.describe()


def test_parse_action_formats():
    main = {"search": "query", "answer": "text", "read": "passage_id"}
    a = parse_action("<think>need the painter</think><search>Mona Lisa painter</search><answer>x</answer>", main)
    assert (a.name, a.args) == ("search", {"query": "Mona Lisa painter"})
    assert a.end == len("<think>need the painter</think><search>Mona Lisa painter</search>")
    assert parse_action('<search>{"query": "q", "k": 3}</search>', main).args == {"query": "q", "k": 3}
    assert parse_action('<search>{"query": </search>', main).error.startswith("search: arguments are not valid JSON")
    assert parse_action("<answer>Leonardo", main).args == {"text": "Leonardo"}  # unclosed at the end: accepted
    assert parse_action("I think it is Paris.", main) is None
    assert parse_action("<b>bold", main) is None  # an unclosed unknown tag is text
    assert parse_action("<python>1+1</python>", main).name == "python"  # closed: the toolbox refuses it
