"""Corpus loaders: JSONL, a folder of .txt/.md files, a Hugging Face `datasets` dataset.

Every loader yields `Document`s and fills a `LoadReport`: empty documents, undecodable bytes and
duplicate ids are skipped and counted, or raise with `strict=True`. Malformed records always raise
a `DataFormatError` that names the file, the line and the field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ragadapt.errors import DataFormatError, EmptyCorpusError
from ragadapt.jsonl import iter_jsonl
from ragadapt.text import valid_utf8
from ragadapt.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown")


@dataclass
class LoadReport:
    """What a loader kept and what it skipped (and why)."""

    source: str = ""
    loaded: int = 0
    empty: int = 0
    not_utf8: int = 0
    duplicate_ids: int = 0
    unsupported_files: int = 0
    examples: list[str] = field(default_factory=list)  # a few skipped locations, for the log

    def skip(self, kind: str, where: str, strict: bool, detail: str = "") -> None:
        """Count a skipped document of `kind` (empty, not_utf8, duplicate_ids), or raise when strict."""
        message = _MESSAGES[kind] + (f": {detail}" if detail else "")
        if strict:
            raise DataFormatError(f"{message} (drop --strict / strict=True to skip such documents)", path=where)
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {message}")

    @property
    def skipped(self) -> int:
        return self.empty + self.not_utf8 + self.duplicate_ids + self.unsupported_files

    def summary(self) -> str:
        parts = [f"{self.loaded} documents from {self.source}"]
        for name in ("empty", "not_utf8", "duplicate_ids", "unsupported_files"):
            if getattr(self, name):
                parts.append(f"skipped {getattr(self, name)} {name.replace('_', ' ')}")
        return ", ".join(parts)


_MESSAGES = {"empty": "empty document", "not_utf8": "not valid UTF-8 (a lone surrogate or undecodable bytes)",
             "duplicate_ids": "duplicate id",
             "unsupported_files": f"not a text file (folders are read for {', '.join(TEXT_SUFFIXES)})"}


class _Dedup:
    """Drops documents whose id was already seen, counting them in the report."""

    def __init__(self, report: LoadReport, strict: bool):
        self.seen: set[str] = set()
        self.report, self.strict = report, strict

    def keep(self, doc: Document, where: str) -> bool:
        if not doc.text.strip():
            self.report.skip("empty", where, self.strict)
            return False
        if doc.id in self.seen:
            self.report.skip("duplicate_ids", where, self.strict, repr(doc.id))
            return False
        self.seen.add(doc.id)
        self.report.loaded += 1
        return True


def _field(record: dict, name: str, path: str, line: int, required: bool) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise DataFormatError(f"missing required field; got fields {sorted(record)}", path=path, line=line, field=name)
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataFormatError(f"expected a string, got {type(value).__name__}", path=path, line=line, field=name)
    return str(value)


def load_jsonl(path: str | Path, report: LoadReport | None = None, strict: bool = False) -> Iterator[Document]:
    """Read `{"id", "title", "text"}` records, one per line. `id` defaults to `<file>:<line>`."""
    path = Path(path)
    report = report if report is not None else LoadReport()
    report.source = str(path)
    dedup = _Dedup(report, strict)
    for lineno, record in iter_jsonl(path, lambda n: report.skip("not_utf8", f"{path}:{n}", strict)):
        where = f"{path}:{lineno}"
        if record.get("text") is not None and not isinstance(record["text"], str):  # 12345 or true is no text
            raise DataFormatError(f"expected a string, got {type(record['text']).__name__} {record['text']!r:.40}",
                                  path=str(path), line=lineno, field="text")
        text = _field(record, "text", str(path), lineno, required=True)
        if not all(valid_utf8(str(record.get(k, ""))) for k in ("text", "title", "id")):
            report.skip("not_utf8", where, strict)
            continue
        doc_id = _field(record, "id", str(path), lineno, required=False) or f"{path.name}:{lineno}"
        title = _field(record, "title", str(path), lineno, required=False)
        doc = Document(id=doc_id, text=text, title=title, source=str(path))
        if dedup.keep(doc, f"{path}:{lineno}"):
            yield doc


def _markdown_title(text: str) -> str:
    m = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    return m.group(1).strip() if m else ""


def load_folder(path: str | Path, report: LoadReport | None = None, strict: bool = False) -> Iterator[Document]:
    """Read every .txt/.md file under `path` (sorted, recursive). The id is the relative path."""
    root = Path(path)
    report = report if report is not None else LoadReport()
    report.source = str(root)
    dedup = _Dedup(report, strict)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    for file in files:
        if file.suffix.lower() not in TEXT_SUFFIXES:
            report.skip("unsupported_files", str(file), strict)
            continue
        rel = file.relative_to(root).as_posix()
        try:
            text = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            report.skip("not_utf8", str(file), strict)
            continue
        title = _markdown_title(text) if file.suffix.lower() != ".txt" else ""
        doc = Document(id=rel, text=text, title=title or file.stem.replace("_", " "), source=str(file))
        if dedup.keep(doc, str(file)):
            yield doc


def load_hf_dataset(
    name_or_path: str,
    split: str = "train",
    text_field: str = "text",
    title_field: str | None = "title",
    id_field: str | None = "id",
    report: LoadReport | None = None,
    strict: bool = False,
) -> Iterator[Document]:
    """Read a `datasets` dataset: a directory saved with `save_to_disk`, or a hub name."""
    import datasets

    report = report if report is not None else LoadReport()
    report.source = name_or_path
    p = Path(name_or_path)
    if p.is_dir() and ((p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists()):
        ds = datasets.load_from_disk(str(p))
    else:
        try:
            ds = datasets.load_dataset(name_or_path, split=split)
        except Exception as e:  # offline, unknown name, no access: datasets raises many types; one line says what to do
            raise DataFormatError(
                f"could not load the dataset from the hub ({type(e).__name__}: {str(e).splitlines()[0][:160]}); "
                "without a network, save it once with `datasets.Dataset.save_to_disk(DIR)` and give DIR instead",
                path=f"hf:{name_or_path}") from e
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataFormatError(f"no split {split!r}; splits are {list(ds)}", path=name_or_path)
        ds = ds[split]
    columns = set(ds.column_names)
    if text_field not in columns:
        raise DataFormatError(f"missing text column; columns are {sorted(columns)}", path=name_or_path, field=text_field)
    dedup = _Dedup(report, strict)
    for i, row in enumerate(ds):
        doc_id = str(row[id_field]) if id_field and id_field in columns else f"{p.name}:{i}"
        title = str(row[title_field] or "") if title_field and title_field in columns else ""
        doc = Document(id=doc_id, text=str(row[text_field] or ""), title=title, source=name_or_path)
        if dedup.keep(doc, f"{name_or_path}[{i}]"):
            yield doc


def load_corpus(spec: str, strict: bool = False, limit: int | None = None) -> tuple[list[Document], LoadReport]:
    """Load a corpus named by `spec`: `wiki`, a .jsonl file, a folder, a saved dataset, or `hf:NAME`."""
    from ragadapt.corpora.wiki import load_wiki

    report = LoadReport()
    p = Path(spec).expanduser()
    docs: Iterable[Document]
    if spec in ("wiki", "wikipedia"):
        docs = load_wiki(report=report)
    elif spec.startswith("hf:"):
        docs = load_hf_dataset(spec[3:], report=report, strict=strict)
    elif p.is_file() and p.suffix in (".jsonl", ".json"):
        docs = load_jsonl(p, report=report, strict=strict)
    elif p.is_dir() and ((p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists()):
        docs = load_hf_dataset(str(p), report=report, strict=strict)
    elif p.is_dir():
        docs = load_folder(p, report=report, strict=strict)
    elif not p.exists():
        raise DataFormatError("no such file or directory (expected `wiki`, a .jsonl file, a folder or hf:NAME)", path=spec)
    else:
        raise DataFormatError("unsupported corpus file; use .jsonl with {id,title,text} records or a folder", path=spec)
    out: list[Document] = []
    for doc in docs:
        out.append(doc)
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise EmptyCorpusError(f"{spec}: the corpus has no usable document ({report.summary()})")
    if report.skipped:
        log.warning("%s; e.g. %s", report.summary(), "; ".join(report.examples))
    return out, report
