"""Training data: sources -> `datasets.Dataset`s, weighted mixtures with replay, curriculum stages.

Examples come in three shapes, recognised per source by their columns:
  text:    {"text"}                                   next-token loss on every token (CPT)
  chat:    {"messages": [{role, content}, ...]}        or {"prompt", "completion"} (SFT)
  pairs:   {"prompt", "chosen", "rejected"}            (DPO)
An optional `context` column (list of strings) marks retrieved passages inside prompts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ragadapt.errors import DataFormatError, EmptyCorpusError
from ragadapt.training.config import Source

log = logging.getLogger(__name__)


WIKI_QA = {"wiki-qa": "chat", "wiki-qa-pairs": "pairs", "wiki-qa-prompts": "prompts"}


def wiki_qa_rows(shape: str, limit: int | None = None) -> list[dict]:
    """Examples made at run time from the bundled corpus (its text is not copied into this repository), in the
    RAG prompt the system serves: `chat` (passage + question -> the answer span), `pairs` (chosen: the answer;
    rejected: the answer of another question of the same kind) and `prompts` (for GRPO/RLOO: prompt + answers)."""
    import random

    from ragadapt.corpora.qa_recipes import template_qa
    from ragadapt.corpora.wiki import load_wiki
    from ragadapt.prompts import RAGPrompt
    from ragadapt.types import Hit, Passage

    passages = [Passage(id=f"{d.id}#0", text=d.text[:700], title=d.title, doc_id=d.id) for d in load_wiki(limit=1500)]
    triples = template_qa(passages)
    random.Random(0).shuffle(triples)
    triples = triples[: limit or len(triples)]
    prompt = RAGPrompt()
    rows = []
    for i, t in enumerate(triples):
        messages = prompt.messages(t.question, [Hit(t.passage, 1.0, 0)])
        if shape == "chat":
            rows.append({"messages": messages + [{"role": "assistant", "content": t.answer}]})
        elif shape == "prompts":
            rows.append({"prompt": messages, "answers": [t.answer]})
        else:
            other = next((u.answer for u in triples[i + 1:] + triples[:i] if u.kind == t.kind and u.answer != t.answer),
                         "I don't know.")
            rows.append({"prompt": messages, "chosen": [{"role": "assistant", "content": t.answer}],
                         "rejected": [{"role": "assistant", "content": other}]})
    return rows


def _load_one(source: Source):
    """One leaf source as a Dataset."""
    import datasets
    from pathlib import Path

    path = source.path
    if path in WIKI_QA:
        ds = datasets.Dataset.from_list(wiki_qa_rows(WIKI_QA[path], source.limit))
    elif path in ("wiki", "wikipedia"):
        from ragadapt.corpora.wiki import load_wiki

        rows = [{"text": f"{d.title}\n{d.text}"} for d in load_wiki(limit=source.limit)]
        ds = datasets.Dataset.from_list(rows)
    elif path == "pydoc":
        from pydoc_data.topics import topics

        ds = datasets.Dataset.from_list([{"text": t} for _, t in sorted(topics.items())])
    elif path.startswith("hf:"):
        try:
            ds = datasets.load_dataset(path[3:], split=source.split)
        except Exception as e:  # offline, unknown name, no access: one line that says what to do
            raise DataFormatError(f"could not load the dataset from the hub ({type(e).__name__}: "
                                  f"{str(e).splitlines()[0][:160]}); without a network, save it once with "
                                  "`save_to_disk(DIR)` and give DIR instead", path=path) from e
    elif path.endswith((".jsonl", ".json")):
        from ragadapt.jsonl import iter_jsonl

        numbered = list(iter_jsonl(path))  # errors name the file and line
        if not numbered:
            raise EmptyCorpusError(f"{path}: no examples")
        ds = _rows_dataset(numbered, path)
    elif not Path(path).is_dir():
        raise DataFormatError("no such data source: give a .jsonl file, a folder saved with `datasets`, hf:NAME, "
                              f"wiki or pydoc (text), or {', '.join(WIKI_QA)} (examples made from the bundled corpus)",
                              path=path, field="data")
    else:
        loaded = datasets.load_from_disk(path)
        ds = loaded[source.split] if isinstance(loaded, datasets.DatasetDict) else loaded
    if source.limit is not None:
        ds = ds.select(range(min(source.limit, len(ds))))
    if len(ds) == 0:
        raise EmptyCorpusError(f"{path}: no examples")
    return ds


def _rows_dataset(numbered: list[tuple[int, dict]], path: str):
    """A Dataset of JSONL rows. Arrow gives a column one type: a field that is a string on one line and a list or
    a number on another fails inside pyarrow with no line; that line is found and named instead."""
    import datasets
    import pyarrow as pa

    try:
        return datasets.Dataset.from_list([row for _, row in numbered])
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as e:  # ArrowInvalid/TypeError, ints past int64
        first: dict[str, tuple[str, int]] = {}
        for lineno, row in numbered:
            for key, value in row.items():
                kind = _json_kind(value)
                if kind == "null":
                    continue
                seen = first.setdefault(key, (kind, lineno))
                if seen[0] != kind:
                    raise DataFormatError(f"field `{key}` is {kind} here but {seen[0]} on line {seen[1]}: give each "
                                          "field one type in every line", path=path, line=lineno) from e
        raise DataFormatError(f"the rows cannot form one table ({type(e).__name__}: {str(e).splitlines()[0][:120]})",
                              path=path) from e


def _json_kind(value) -> str:
    """The JSON shape of a value, as Arrow needs it to agree within a column (lists by their items' shape)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        kinds = {_json_kind(v) for v in value} - {"null"}
        return f"a list of {'/'.join(sorted(k.split(' ', 1)[1] + 's' for k in kinds))}" if kinds else "a list"
    return "an object"


def check_pairs(ds, where: str) -> None:
    """Preference rows as TRL's DPOTrainer takes them: `prompt`, `chosen`, `rejected` all plain text, or all
    chat messages ({role, content} lists). Checked before the model loads, so a
    bad row is one line that names it, not an error deep inside the trainer's tokenisation."""
    for i, row in enumerate(ds):
        kinds = {}
        for field in ("prompt", "chosen", "rejected"):
            value = row.get(field)
            if isinstance(value, str):
                if not value.strip() and field != "prompt":
                    raise DataFormatError(f"example {i}: `{field}` is empty", path=where, field=field)
                kinds[field] = "text"
            elif isinstance(value, list) and value and all(
                    isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                    for m in value):
                kinds[field] = "messages"
            else:
                raise DataFormatError(f"example {i}: `{field}` must be a string or a non-empty list of {{role, content}} "
                                      f"messages, got {str(value)[:60]!r}", path=where, field=field)
        if len(set(kinds.values())) > 1:
            raise DataFormatError(f"example {i}: `prompt`, `chosen` and `rejected` mix plain text and messages "
                                  f"({kinds}); give all three as text or all three as messages", path=where)


def flatten(sources: Sequence[Source], weight: float = 1.0) -> list[tuple[Source, float]]:
    """Nested groups -> leaf sources with absolute weights (a group's weight is shared by its members)."""
    total = sum(s.weight for s in sources) or 1.0
    out = []
    for s in sources:
        w = weight * s.weight / total
        if s.sources:
            out += flatten(s.sources, w)
        elif not s.path:
            raise DataFormatError("a source needs a `path` or nested `sources`", field="data")
        else:
            out.append((s, w))
    return out


def example_kind(columns: Sequence[str], where: str) -> str:
    cols = set(columns)
    if {"prompt", "chosen", "rejected"} <= cols:
        return "pairs"
    if "messages" in cols or {"prompt", "completion"} <= cols:
        return "chat"
    if "text" in cols:
        return "text"
    raise DataFormatError(
        f"cannot tell the example format from columns {sorted(cols)}: expected `text` (CPT), `messages` or "
        "`prompt`+`completion` (SFT), or `prompt`+`chosen`+`rejected` (DPO)", path=where)


def require_columns(columns: Sequence[str], needed: Sequence[str], where: str) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataFormatError(f"missing column(s) {missing}; columns are {sorted(columns)}", path=where)


def mixture(data: Sequence[Source], replay: Sequence[Source] = (), replay_ratio: float = 0.0, seed: int = 42,
            prepare=None, stopping: str = "first_exhausted"):
    """Load, `prepare` (a function Dataset, Source -> Dataset with shared columns) and interleave sources.

    Probabilities are the sources' weights; with replay, a fraction `replay_ratio` of the examples is drawn
    from the replay sources. Stops when the first source runs out (no example is seen twice).
    """
    import datasets

    if not 0 <= replay_ratio < 1:
        raise DataFormatError(f"replay_ratio must be in [0, 1), got {replay_ratio}", field="replay_ratio")
    leaves = [(s, w * (1 - replay_ratio if replay else 1.0)) for s, w in flatten(data)]
    if replay and replay_ratio > 0:
        leaves += [(s, w * replay_ratio) for s, w in flatten(replay)]
    if not leaves:
        raise DataFormatError("no training data: set `data` (or `stages`)", field="data")
    parts = []
    for source, _ in leaves:
        ds = _load_one(source)
        parts.append(prepare(ds, source) if prepare is not None else ds)
    if len(parts) == 1:
        return parts[0].shuffle(seed=seed)
    probs = [w for _, w in leaves]
    total = sum(probs)
    mixed = datasets.interleave_datasets(parts, probabilities=[p / total for p in probs], seed=seed,
                                         stopping_strategy=stopping)
    log.info("mixture of %d sources -> %d examples (%s)", len(parts), len(mixed),
             ", ".join(f"{s.path}: {w / total:.0%}" for s, w in leaves))
    return mixed
