"""A small tool protocol for agents: a name, a description, JSON-schema arguments and a call.

Tools only look things up (no tool executes code). Whatever goes wrong in a call (unknown tool, arguments
of the wrong type, an exception inside the tool) comes back as an error `Observation` the agent can read
and react to; the loop never crashes on a tool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragadapt.agents.common import is_empty
from ragadapt.types import Hit

log = logging.getLogger(__name__)

_JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                            "boolean": (bool,), "array": (list,), "object": (dict,)}


@dataclass
class Observation:
    """What a tool call gives back to the agent."""

    text: str
    hits: list[Hit] = field(default_factory=list)  # passages the call surfaced (search, read)
    error: bool = False
    final: bool = False  # the `answer` tool ends the episode


class ToolArgumentError(ValueError):
    """Arguments that do not match a tool's schema; the message names the tool and the field."""


def validate_args(tool: str, schema: Mapping[str, Any], args: Any) -> dict[str, Any]:
    """Check `args` against an object schema (required fields, known fields, JSON types, integer bounds)
    and fill in defaults. Booleans are not integers here, as in JSON."""
    if not isinstance(args, Mapping):
        raise ToolArgumentError(f"{tool}: arguments must be a JSON object, got {type(args).__name__}")
    props: Mapping[str, Any] = schema.get("properties", {})
    missing = [name for name in schema.get("required", []) if name not in args]
    if missing:
        raise ToolArgumentError(f"{tool}: missing required argument(s) {', '.join(missing)}")
    unknown = [name for name in args if name not in props]
    if unknown:
        raise ToolArgumentError(f"{tool}: unknown argument(s) {', '.join(unknown)}; expected {', '.join(props)}")
    out = {name: spec["default"] for name, spec in props.items() if "default" in spec}
    for name, value in args.items():
        spec = props[name]
        kind = spec.get("type")
        ok = isinstance(value, _JSON_TYPES.get(kind, (object,))) and not (kind in ("integer", "number")
                                                                          and isinstance(value, bool))
        if not ok:
            raise ToolArgumentError(f"{tool}: argument {name!r} must be {kind}, got {type(value).__name__} "
                                    f"({value!r})")
        if kind in ("integer", "number"):
            lo, hi = spec.get("minimum"), spec.get("maximum")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ToolArgumentError(f"{tool}: argument {name!r} must be in [{lo}, {hi}], got {value}")
        if kind == "string" and not value.strip() and name in schema.get("required", []):
            raise ToolArgumentError(f"{tool}: argument {name!r} is empty")
        out[name] = value
    return out


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema of type object
    fn: Callable[..., Observation]

    @property
    def main_argument(self) -> str | None:
        """The argument a plain-text call fills (`<search>capital of France</search>`): the first required
        string argument."""
        props = self.parameters.get("properties", {})
        return next((n for n in self.parameters.get("required", []) if props.get(n, {}).get("type") == "string"),
                    None)

    def spec(self) -> dict[str, Any]:
        """The function-calling description (OpenAI / chat-template `tools=` format)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}

    def __call__(self, args: Any) -> Observation:
        try:
            return self.fn(**validate_args(self.name, self.parameters, args))
        except ToolArgumentError as e:
            return Observation(f"error: {e}", error=True)
        except Exception as e:  # a tool failure is something for the agent to read, not a crash
            log.warning("tool %s failed: %s", self.name, e)
            return Observation(f"error: {self.name} failed: {type(e).__name__}: {e}", error=True)


class Toolbox:
    """The tools an agent may call, by name."""

    def __init__(self, tools: Sequence[Tool]):
        self.tools = {t.name: t for t in tools}
        if len(self.tools) != len(tools):
            raise ValueError(f"tool names must be unique, got {[t.name for t in tools]}")

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def __getitem__(self, name: str) -> Tool:
        return self.tools[name]

    def call(self, name: str, args: Any) -> Observation:
        if name not in self.tools:
            return Observation(f"error: unknown tool {name!r}; available tools: {', '.join(self.tools)}", error=True)
        return self.tools[name](args)

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self.tools.values()]

    def describe(self) -> str:
        """One line per tool for a prompt: `<name>argument</name>: description`."""
        lines = []
        for t in self.tools.values():
            arg = t.main_argument or "{json arguments}"
            lines.append(f"<{t.name}>{arg}</{t.name}>: {t.description}")
        return "\n".join(lines)


# ---- built-in tools ---------------------------------------------------------------------------------
def snippet(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def format_hits(hits: Sequence[Hit], words: int | None) -> str:
    return "\n".join(f"[{h.passage.id}] {h.passage.title}: {snippet(h.passage.text, words) if words else h.passage.text}"
                     for h in hits)


def search_tool(retriever, k: int = 3, max_k: int = 10, snippet_words: int | None = None) -> Tool:
    """search(query, k): the retriever's top-k passages, each with its id (for `read`)."""

    def search(query: str, k: int) -> Observation:
        if is_empty(retriever):
            return Observation("error: the index is empty; nothing can be found", error=True)
        hits = retriever.search([query], k)[0]
        if not hits:
            return Observation("no passages found")
        return Observation(format_hits(hits, snippet_words), hits=list(hits))

    params = {"type": "object", "required": ["query"],
              "properties": {"query": {"type": "string", "description": "what to look for"},
                             "k": {"type": "integer", "minimum": 1, "maximum": max_k, "default": k,
                                   "description": "how many passages"}}}
    return Tool("search", "search the corpus; returns passages with their ids", params, search)


def read_tool(retriever) -> Tool:
    """read(passage_id): a passage's full text."""

    def read(passage_id: str) -> Observation:
        passage_id = passage_id.strip().strip("[]")
        try:
            passage = retriever.get(passage_id)
        except KeyError:
            return Observation(f"error: no passage with id {passage_id!r}", error=True)
        return Observation(f"[{passage.id}] {passage.title}: {passage.text}", hits=[Hit(passage, 0.0, 0)])

    params = {"type": "object", "required": ["passage_id"],
              "properties": {"passage_id": {"type": "string", "description": "an id shown by search"}}}
    return Tool("read", "read the whole passage with this id", params, read)


def answer_tool() -> Tool:
    """answer(text): the final answer; ends the episode."""

    def answer(text: str) -> Observation:
        return Observation(text.strip(), final=True)

    params = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
    return Tool("answer", "give the final answer (a few words) and stop", params, answer)


def default_tools(retriever, k: int = 3, snippet_words: int | None = None) -> Toolbox:
    return Toolbox([search_tool(retriever, k, snippet_words=snippet_words), read_tool(retriever), answer_tool()])
