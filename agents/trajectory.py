"""What an agent did, step by step: model outputs, tool calls, observations, passages, tokens.

Every workflow returns one `Trajectory` per question. Trajectories are plain JSON (one per line in a
.jsonl file) and print as a readable transcript (`render`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragadapt.jsonl import write_jsonl


@dataclass
class Step:
    """One step: what the model wrote (`output`), the tool it called, and what came back."""

    kind: str  # action | format_error | plan | subquestion | retrieve | aggregate | fallback
    output: str = ""
    tool: str | None = None
    args: dict[str, Any] | None = None
    observation: str | None = None
    error: bool = False
    passages: list[str] = field(default_factory=list)  # ids of the passages this step surfaced
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Trajectory:
    question: str
    workflow: str
    steps: list[Step] = field(default_factory=list)
    answer: str = ""
    stop: str = ""  # answer | max_steps | fallback | done
    meta: dict[str, Any] = field(default_factory=dict)

    # ---- statistics ------------------------------------------------------------------------------
    def searches(self) -> int:
        return sum(s.tool == "search" for s in self.steps)

    def format_errors(self) -> int:
        return sum(s.kind == "format_error" for s in self.steps)

    def tool_errors(self) -> int:
        return sum(s.error and s.kind != "format_error" for s in self.steps)

    def repeated_searches(self) -> int:
        seen, repeats = set(), 0
        for s in self.steps:
            if s.tool == "search" and s.args:
                key = (" ".join(str(s.args.get("query", "")).lower().split()), s.args.get("k"))
                repeats += key in seen
                seen.add(key)
        return repeats

    def passages(self) -> list[str]:
        """Every passage id the trajectory surfaced, first appearance first."""
        return list(dict.fromkeys(p for s in self.steps for p in s.passages))

    def tokens(self) -> dict[str, int]:
        return {"prompt": sum(s.prompt_tokens for s in self.steps),
                "completion": sum(s.completion_tokens for s in self.steps)}

    def stats(self) -> dict[str, Any]:
        return {"steps": len(self.steps), "searches": self.searches(), "format_errors": self.format_errors(),
                "tool_errors": self.tool_errors(), "repeated_searches": self.repeated_searches(),
                "passages": len(self.passages()), "stop": self.stop, **{f"{k}_tokens": v for k, v in
                                                                        self.tokens().items()}}

    # ---- (de)serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stats": self.stats()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        return cls(d["question"], d["workflow"], [Step.from_dict(s) for s in d.get("steps", [])],
                   d.get("answer", ""), d.get("stop", ""), d.get("meta", {}))

    def render(self, width: int = 300) -> str:
        """A transcript for people: one block per step, long observations shortened to `width` characters."""

        def short(text: str) -> str:
            text = " ".join(text.split())
            return text if len(text) <= width else text[: width - 3] + "..."

        lines = [f"Question: {self.question}   [{self.workflow}]"]
        for i, s in enumerate(self.steps, 1):
            head = f"{i}. {s.kind}"
            if s.tool:
                head += f" -> {s.tool}({json.dumps(s.args, ensure_ascii=False)})"
            lines.append(head)
            if s.output:
                lines.append(f"   model: {short(s.output)}")
            if s.observation is not None:
                lines.append(f"   {'error' if s.error else 'observation'}: {short(s.observation)}")
        stats = self.stats()
        lines.append(f"Answer: {self.answer}   (stop: {self.stop}; {stats['searches']} searches, "
                     f"{stats['format_errors']} format errors, {stats['prompt_tokens']}+{stats['completion_tokens']}"
                     f" tokens)")
        return "\n".join(lines)


def save_trajectories(path: str | Path, trajectories: Iterable[Trajectory]) -> Path:
    """One JSON object per line, written atomically."""
    return write_jsonl(path, (t.to_dict() for t in trajectories))


def load_trajectories(path: str | Path) -> list[Trajectory]:
    from ragadapt.errors import DataFormatError

    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Trajectory.from_dict(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DataFormatError(f"not a trajectory: {e}", path=str(path), line=n) from None
    return out


def summarize(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """Mean trajectory statistics over many questions (searches per question, format errors, ...)."""
    n = max(1, len(trajectories))
    stats = [t.stats() for t in trajectories]
    keys = ("steps", "searches", "format_errors", "tool_errors", "repeated_searches", "passages",
            "prompt_tokens", "completion_tokens")
    out: dict[str, float] = {k: sum(s[k] for s in stats) / n for k in keys}
    for stop in sorted({s["stop"] for s in stats}):
        out[f"stop_{stop}"] = sum(s["stop"] == stop for s in stats) / n
    return out
