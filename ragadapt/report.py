"""The one report writer: every routine, the pipeline and `ragadapt eval` write report.json and report.md here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_report(out_dir: str | Path, payload: dict[str, Any], markdown: str | None = None,
                 provenance: dict[str, Any] | None = None) -> Path:
    """report.json (`payload` plus its `provenance` block: inputs with checksums, settings, code version,
    hardware, command, time; ragadapt.provenance.run_info() when not given) and, with `markdown`, report.md;
    each written atomically. Returns the report.json path."""
    from ragadapt.atomic import atomic_write_text
    from ragadapt.provenance import run_info

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    atomic_write_text(path, json.dumps({**payload, "provenance": provenance or run_info()}, indent=2, default=str))
    if markdown is not None:
        atomic_write_text(out / "report.md", markdown.rstrip("\n") + "\n")
    return path
