"""Reading an action out of a model's reply.

The action format is one tag per tool, as in Search-R1: `<search>capital of France</search>`,
`<read>wiki-123-0</read>`, `<answer>Paris</answer>`. The body is either plain text (it fills the tool's main
argument) or a JSON object of arguments (`<search>{"query": "...", "k": 5}</search>`). `<think>` blocks
are reasoning, not actions. The first action in the reply counts; anything after it is dropped (the model
must wait for the observation).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_TAG = re.compile(r"<(?P<name>[A-Za-z_][A-Za-z0-9_]*)>(?P<body>.*?)(?:</(?P=name)\s*>|$)", re.S)
REASONING_TAGS = frozenset({"think", "information"})


@dataclass
class Action:
    name: str
    args: Any  # a dict for a valid call; whatever was written otherwise (the tool reports the error)
    end: int  # where the action ends in the reply
    error: str | None = None  # the body was meant as JSON and is not


def parse_action(text: str, main_arguments: dict[str, str | None]) -> Action | None:
    """The first tool action in `text` (`main_arguments`: tool name -> its plain-text argument), or None.

    A tag that is not a tool still counts as an action when it is closed (`<calculator>1+1</calculator>`
    -> the toolbox answers "unknown tool"); an unclosed unknown tag is just text."""
    for m in _TAG.finditer(text):
        name, body = m.group("name"), m.group("body").strip()
        closed = re.search(rf"</{name}\s*>$", m.group(0)) is not None
        if name in REASONING_TAGS or (name not in main_arguments and not closed):
            continue
        if body.startswith("{"):
            try:
                return Action(name, json.loads(body), m.end())
            except json.JSONDecodeError as e:
                return Action(name, body, m.end(), error=f"{name}: arguments are not valid JSON ({e.msg})")
        main = main_arguments.get(name)
        return Action(name, {main: body} if main else body, m.end())
    return None


def stop_strings(tool_names) -> list[str]:
    """Generation stops once an action is closed."""
    return [f"</{name}>" for name in tool_names]
