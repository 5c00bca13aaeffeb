"""The BGM bridge model (Ke et al., 2024): reads the question and the candidates and writes the titles
of the passages the generator should see, best first, one per line, or "none".

Why titles and not numbers: a small LM learns to copy a title it has matched against the question within a
few hundred examples, but not to map a passage to the number printed before it (SmolLM2-135M, gold passage
among 5 shuffled candidates, one epoch on 300 questions: 65% when it writes the title, 18% -- chance -- when
it writes the number; scripts/bridge_pointing_probe.py). Each candidate gets a unique label: its title, with
" (2)", " (3)" ... appended when several candidates share a title.

Output handling never yields a passage that was not a candidate: each line of the reply is matched to a
label (exactly, else the longest label it starts with, else a bare candidate number, else near misses: the
one label whose title without its parenthesised qualifier is the line -- "Triton" for "Triton (moon)" --
or the one label spelled within `FUZZY_RATIO` of it -- "Tibetan" for "Tibetans"), first occurrence kept, in
order; a reply with no match that is not "none" is unparseable and falls back to the plain top-k (counted
in `stats`). The near misses are how a small bridge most often misses (about half its unparseable replies
on the default system), and falling back to top-k there discards a choice it did make. Candidate list rule: at most `max_candidates` candidates, each cut to
`passage_tokens` tokens (word boundary) so the list fits the bridge's context; the cut applies only to
what the bridge reads, the generator still receives the full passages. The question is shown before and
after the candidates, so a causal bridge reads every passage knowing the question and ends on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ragadapt.atomic import atomic_dir
from ragadapt.manifest import read_manifest, write_manifest
from ragadapt.types import Hit

KIND = "bgm"
MODEL_SUBDIR = "model"
INSTRUCTION = ("Which passages help answer the question? Reply with their titles, most useful first, one per "
               "line, or 'none' if no passage helps.")
_NUMBER = re.compile(r"^\[?(\d+)\]?[.)]?$")
_QUALIFIER = re.compile(r"\s*\([^()]*\)$")
FUZZY_RATIO = 0.85  # difflib similarity above which a line is taken for a misspelt label
_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().strip("-*\u2022 ").strip()).lower()


def candidate_labels(titles: Sequence[str]) -> list[str]:
    """One unique label per candidate: its title, numbered from the second candidate sharing it."""
    labels, seen = [], {}
    for i, raw in enumerate(titles):
        title = _SPACE.sub(" ", (raw or "").strip()) or f"Passage {i + 1}"
        seen[title.lower()] = seen.get(title.lower(), 0) + 1
        labels.append(title if seen[title.lower()] == 1 else f"{title} ({seen[title.lower()]})")
    return labels


def _match(line: str, labels: Sequence[str]) -> int | None:
    text = _norm(line)
    if not text:
        return None
    normed = [_norm(label) for label in labels]
    if text in normed:
        return normed.index(text)
    prefixes = [(len(n), i) for i, n in enumerate(normed)
                if n and text.startswith(n) and not text[len(n):len(n) + 1].isalnum()]
    if prefixes:
        return max(prefixes)[1]
    number = _NUMBER.match(text)
    if number and 1 <= int(number.group(1)) <= len(labels):
        return int(number.group(1)) - 1
    return _near_miss(text, normed)


def _only(indices: list[int]) -> int | None:
    return indices[0] if len(indices) == 1 else None


def _near_miss(text: str, normed: Sequence[str]) -> int | None:
    """The single label the line almost is: its title without the qualifier, or a close spelling."""
    from difflib import SequenceMatcher

    base = _only([i for i, n in enumerate(normed) if _QUALIFIER.sub("", n) == text])
    if base is not None:
        return base
    ratios = [SequenceMatcher(None, text, n).ratio() for n in normed]
    best = max(ratios, default=0.0)
    return _only([i for i, r in enumerate(ratios) if r == best]) if best >= FUZZY_RATIO else None


def parse_selection(text: str, labels: Sequence[str]) -> list[int] | None:
    """0-based indices of the chosen candidates; [] for 'none'; None when the reply cannot be parsed."""
    picked: list[int] = []
    for line in text.splitlines():
        i = _match(line, labels)
        if i is not None and i not in picked:
            picked.append(i)
    if picked:
        return picked
    return [] if _norm(text).startswith(("none", "no passage")) else None


def format_selection(indices: Sequence[int], labels: Sequence[str]) -> str:
    """The training target for a silver sequence (0-based indices)."""
    return "\n".join(labels[i] for i in indices) if indices else "none"


def _cut(text: str, n_tokens: int, count_tokens) -> str:
    from ragadapt.prompts import _cut_to_tokens

    return text if count_tokens(text) <= n_tokens else _cut_to_tokens(text, n_tokens, count_tokens) + " ..."


def bridge_messages(question: str, hits: Sequence[Hit], count_tokens, max_candidates: int = 10,
                    passage_tokens: int = 64) -> list[dict[str, str]]:
    shown = list(hits[:max_candidates])
    blocks = [f"[{i + 1}] {label}: {_cut(h.passage.text, passage_tokens, count_tokens)}"
              for i, (h, label) in enumerate(zip(shown, candidate_labels([h.passage.title for h in shown])))]
    content = (f"Question: {question}\n\nPassages:\n" + "\n".join(blocks)
               + f"\n\nQuestion: {question}\n\n{INSTRUCTION}")
    return [{"role": "user", "content": content}]


@dataclass
class BridgeStats:
    calls: int = 0
    fallbacks: int = 0  # unparseable replies answered with the plain top-k
    passages: int = 0  # passages passed on in total

    @property
    def mean_passages(self) -> float:
        return self.passages / self.calls if self.calls else 0.0


class BGMBridge:
    """A bridge over any text generator: a causal LM (TransformersGenerator) or a seq2seq model."""

    kind = KIND

    def __init__(self, generator, max_candidates: int = 10, passage_tokens: int = 64, max_new_tokens: int = 32,
                 fallback_k: int = 3, batch_size: int = 8):
        self.generator = generator
        self.max_candidates, self.passage_tokens = max_candidates, passage_tokens
        self.max_new_tokens, self.fallback_k, self.batch_size = max_new_tokens, fallback_k, batch_size
        self.stats = BridgeStats()

    @classmethod
    def from_pretrained(cls, name: str = "smollm2-135m-instruct", device: str | None = None, **settings) -> BGMBridge:
        """A causal LM by name/dir, or a seq2seq model when its config is encoder-decoder."""
        from transformers import AutoConfig

        from ragadapt.models import resolve_model

        path = name if Path(name).is_dir() else resolve_model(name, kind="generator")
        if getattr(AutoConfig.from_pretrained(path), "is_encoder_decoder", False):
            from ragadapt.generation.seq2seq import Seq2SeqGenerator

            return cls(Seq2SeqGenerator.from_pretrained(path, device=device), **settings)
        from ragadapt.generation import TransformersGenerator

        return cls(TransformersGenerator.from_pretrained(path, device=device), **settings)

    @property
    def module(self):
        return self.generator.module

    def messages(self, question: str, hits: Sequence[Hit]) -> list[dict[str, str]]:
        return bridge_messages(question, hits, self.generator.count_tokens, self.max_candidates,
                               self.passage_tokens)

    def select_batch(self, questions: Sequence[str], hits: Sequence[Sequence[Hit]]) -> list[list[Hit]]:
        replies = self.generator.generate([self.messages(q, h) for q, h in zip(questions, hits)],
                                          max_new_tokens=self.max_new_tokens, batch_size=self.batch_size)
        out = []
        for reply, hs in zip(replies, hits):
            shown = list(hs[: self.max_candidates])
            picked = parse_selection(reply, candidate_labels([h.passage.title for h in shown]))
            if picked is None:
                self.stats.fallbacks += 1
                chosen = shown[: self.fallback_k]
            else:
                chosen = [shown[i] for i in picked]
            self.stats.calls += 1
            self.stats.passages += len(chosen)
            out.append([Hit(h.passage, h.score, rank) for rank, h in enumerate(chosen)])
        return out

    def settings(self) -> dict:
        return {"max_candidates": self.max_candidates, "passage_tokens": self.passage_tokens,
                "max_new_tokens": self.max_new_tokens, "fallback_k": self.fallback_k, "batch_size": self.batch_size}

    def save(self, directory: str | Path) -> None:
        with atomic_dir(directory) as tmp:
            self.generator.save(tmp / MODEL_SUBDIR)
            write_manifest(tmp, KIND, name=getattr(self.generator, "name", ""), settings=self.settings())
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None) -> BGMBridge:
        """A bridge saved by `save` (checked against its manifest)."""
        m = read_manifest(directory, KIND)
        return cls.from_pretrained(str(Path(directory) / MODEL_SUBDIR), device=device, **m["settings"])
