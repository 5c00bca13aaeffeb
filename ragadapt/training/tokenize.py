"""Tokenisation with loss masks, for any chat template (no `{% generation %}` markers needed).

A chat example is rendered with the tokenizer's chat template (or a plain "Role: text" fallback);
each message's content is located in the rendered text, and every token is labelled by what it
overlaps. The three masking variants of the tutorial:
  none      every token is trained on;
  template  all message content is trained on, the template markup (role headers, special tokens) is not;
  assistant only the assistant replies are (the template, the system prompt and the user's
            instruction and input are masked).
The token closing an assistant turn (e.g. `<|im_end|>`) is always trained on, so the model learns to stop.
With `mask_context`, retrieved passages (the example's `context` strings) and tool observations
(role `tool`) are masked too, whatever the variant.

Truncation rule: an example longer than `max_length` keeps its first `max_length` tokens; one left
without any trained token is dropped. Both are counted and logged. Text (CPT) examples are split
into consecutive `max_length` pieces instead, so no text is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ragadapt.errors import DataFormatError
from ragadapt.generation.hf import plain_chat

log = logging.getLogger(__name__)

MASKINGS = ("assistant", "template", "none")
IGNORE = -100
_WARNED_NO_TEMPLATE: set[int] = set()


def to_messages(example: dict, where: str = "data") -> list[dict[str, str]]:
    if "messages" in example and example["messages"] is not None:
        messages = example["messages"]
    elif example.get("prompt") is None or example.get("completion") is None:
        present = sorted(k for k, v in example.items() if v is not None)
        raise DataFormatError(f"a row has neither `messages` nor both `prompt` and `completion` (it has {present}); "
                              "one file must use one shape per row, and every row needs one of them", path=where)
    else:
        prompt, completion = example["prompt"], example["completion"]
        messages = (prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]) + \
            (completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}])
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or not isinstance(m.get("content"), str):
            raise DataFormatError(f"message {i} must be {{'role': ..., 'content': str}}, got {m!r}", field="messages")
    return messages


def render_chat(tokenizer, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """The full conversation text and the (start, end, role) character span of each message's content."""
    if tokenizer.chat_template:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    else:
        if id(tokenizer) not in _WARNED_NO_TEMPLATE:
            log.warning("the tokenizer has no chat template; training with a plain 'Role: text' template "
                        "(the same one generation falls back to)")
            _WARNED_NO_TEMPLATE.add(id(tokenizer))
        text = plain_chat(messages[:-1]) + " " + messages[-1]["content"] if messages[-1]["role"] == "assistant" \
            else plain_chat(messages)
        text += tokenizer.eos_token or ""
    spans, cursor = [], 0
    for m in messages:
        start = text.find(m["content"], cursor) if m["content"] else -1
        if start < 0:
            continue  # an empty message, or a template that rewrites content: nothing to label
        spans.append((start, start + len(m["content"]), m["role"]))
        cursor = start + len(m["content"])
    return text, spans


def _overlaps(s: int, e: int, spans) -> bool:
    return any(s < b and e > a for a, b in spans)


def chat_labels(tokenizer, messages, masking: str, context: list[str] | None = None,
                mask_context: bool = False) -> tuple[list[int], list[int]]:
    """input_ids and labels (IGNORE where no loss) for one conversation."""
    if masking not in MASKINGS:
        raise DataFormatError(f"unknown masking {masking!r}; choose one of {MASKINGS}", field="masking")
    text, spans = render_chat(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    assistant = [(a, b) for a, b, r in spans if r == "assistant"]
    content = [(a, b) for a, b, _ in spans]
    hidden: list[tuple[int, int]] = []
    if mask_context:
        hidden = [(a, b) for a, b, r in spans if r == "tool"]
        prompt_spans = [(a, b) for a, b, r in spans if r != "assistant"]
        for passage in context or []:
            for a, b in prompt_spans:
                at = text.find(passage, a, b)
                if passage and at >= 0:
                    hidden.append((at, at + len(passage)))
    closers = set()
    for _, end in assistant:  # the first token after each assistant reply closes the turn
        closers.update(i for i in [next((i for i, (s, _) in enumerate(offsets) if s >= end), None)] if i is not None)
    labels = []
    for i, (tok, (s, e)) in enumerate(zip(ids, offsets)):
        if masking == "none":
            train = True
        elif masking == "template":
            train = _overlaps(s, e, content) or i in closers
        else:
            train = _overlaps(s, e, assistant) or i in closers
        if train and hidden and _overlaps(s, e, hidden):
            train = False
        labels.append(tok if train else IGNORE)
    return ids, labels


@dataclass
class PrepareStats:
    examples: int = 0
    rows: int = 0  # tokenized sequences (a long text example becomes several); packing fills rows from them later
    truncated: int = 0
    dropped: int = 0

    def summary(self) -> str:
        return (f"{self.examples} examples -> {self.rows} sequences (long texts split at max_length; packing then "
                f"fills rows with them); {self.truncated} truncated to max_length, {self.dropped} dropped (no trained "
                "token left)")


def tokenize_dataset(ds, tokenizer, max_length: int, masking: str = "assistant", mask_context: bool = False,
                     stats: PrepareStats | None = None, where: str = "data"):
    """Dataset of text or chat examples -> Dataset of {input_ids, labels} (text split, chat truncated)."""
    from ragadapt.training.data import example_kind

    kind = example_kind(ds.column_names, where)
    if kind == "pairs":
        raise DataFormatError("preference pairs are for `ragadapt train dpo`, not cpt/sft", path=where)
    eos = tokenizer.eos_token_id

    def text_rows(batch):
        out = {"input_ids": [], "labels": [], "_truncated": [], "_dropped": []}
        for text in batch["text"]:
            if not isinstance(text, str):
                raise DataFormatError(f"`text` must be a string, got {type(text).__name__}", path=where, field="text")
            ids = tokenizer(text, add_special_tokens=False)["input_ids"] + ([eos] if eos is not None else [])
            for start in range(0, len(ids), max_length):
                piece = ids[start:start + max_length]
                out["input_ids"].append(piece)
                out["labels"].append(list(piece))
                out["_truncated"].append(False)
                out["_dropped"].append(False)
        return out

    def chat_rows(batch):
        out = {"input_ids": [], "labels": [], "_truncated": [], "_dropped": []}
        n = len(next(iter(batch.values())))
        for i in range(n):
            example = {k: batch[k][i] for k in batch}
            ids, labels = chat_labels(tokenizer, to_messages(example, where), masking, example.get("context"),
                                      mask_context)
            truncated = len(ids) > max_length
            ids, labels = ids[:max_length], labels[:max_length]
            out["input_ids"].append(ids)
            out["labels"].append(labels)
            out["_truncated"].append(truncated)
            out["_dropped"].append(all(x == IGNORE for x in labels))
        return out

    fn = text_rows if kind == "text" else chat_rows
    rows = ds.map(fn, batched=True, remove_columns=ds.column_names, load_from_cache_file=False,
                  desc=f"tokenizing {where}")
    n_truncated, n_dropped = sum(rows["_truncated"]), sum(rows["_dropped"])
    if n_dropped:
        rows = rows.filter(lambda d: not d, input_columns="_dropped")
    rows = rows.remove_columns(["_truncated", "_dropped"])
    if len(rows) == 0:
        raise DataFormatError(f"all {len(ds)} examples were dropped: longer than max_length={max_length} with "
                              "no trained token left; raise max_length or shorten the prompts", path=where)
    if stats is not None:
        stats.examples += len(ds)
        stats.rows += len(rows)
        stats.truncated += n_truncated
        stats.dropped += n_dropped
    if n_truncated or n_dropped:
        log.warning("%s: %d examples longer than max_length=%d were truncated, %d dropped", where, n_truncated,
                    max_length, n_dropped)
    return rows
