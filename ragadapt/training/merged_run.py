"""`merge:` on every routine that adapts a system: the run's system merged back towards its input (WiSE-FT).

After the routine wrote OUTPUT_DIR/system, each component whose checksum differs from the input system's (RA-DIT
can change two) is interpolated with the input's at one alpha, fixed or chosen on `merge_dev`. The run's own
system is kept as OUTPUT_DIR/unmerged-system and OUTPUT_DIR/system becomes the merged one, so what a run hands
on (to `ragadapt eval`, to the next pipeline stage) is always OUTPUT_DIR/system. Alpha 0 hands the input on as
it is (its checksums). The choice is recorded in OUTPUT_DIR/merge.json and report.md; a routine whose report has
before/after stages (retriever-replug, reranker, ra-dit) gets the merged system as one more stage, with gates.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from ragadapt.errors import DataFormatError

log = logging.getLogger(__name__)

UNMERGED = "unmerged-system"
RECORD = "merge.json"
# routines with work of their own on the merged system (a report that is not a table of before/after stages, an
# abstention rule set on the merged weights): method -> "module:function(cfg, merged_system, unmerged_system)"
AFTER_MERGE = {"generator-contextual": "ragadapt.training.contextual:after_merge"}


def components(system_dir: Path) -> dict[str, str | None]:
    """component -> what identifies its weights (checksum, or the model it names)."""
    from ragadapt.manifest import read_manifest

    parts = read_manifest(system_dir, "rag-system", verify_hashes=False)["components"]
    return {name: (part.get("checksum") or part.get("ref")) for name, part in parts.items() if part}


def parse_alpha(value) -> float | str:
    if value == "auto":
        return value
    try:
        alpha = float(value)
    except (TypeError, ValueError):
        alpha = -1.0
    if not 0.0 <= alpha <= 1.0:
        raise DataFormatError(f"must be a number in [0, 1] or auto, got {value!r}", field="merge")
    return alpha


def check_mergeable(cfg, adapts: str) -> None:
    """Before training: a `merge` that cannot be honoured is one line, not a finding after the run."""
    if getattr(cfg, "merge", None) is None:
        return
    parse_alpha(cfg.merge)
    if not getattr(cfg, "system", None) or not (Path(cfg.system) / "manifest.json").is_file():
        return  # the routine builds its input system; generator and retriever are always there
    missing = [c for c in ("reranker", "bridge") if c in adapts and c not in components(Path(cfg.system))]
    if missing:
        raise DataFormatError(f"{cfg.system} has no {missing[0]}: the run adds one, so there is nothing to merge "
                              f"it towards (merge only a component the input system has)", field="merge")


def merging(train, adapts: str, method: str = ""):
    """Wrap a routine: when its config sets `merge`, its OUTPUT_DIR/system is merged back towards its input."""

    def run(cfg):
        check_mergeable(cfg, adapts)
        result = train(cfg)
        if getattr(cfg, "merge", None) is None or result.system_dir is None:
            return result
        result.system_dir = merge_run(cfg, Path(cfg.system), Path(result.system_dir), method,
                                      input_answers=(result.stats or {}).get("input_answers"))
        return result

    run.__name__ = getattr(train, "__name__", "run")
    run.__doc__ = train.__doc__
    return run


def merge_run(cfg, before: Path, after: Path, method: str = "", input_answers: dict | None = None) -> Path:
    """Merge `after` (the run's OUTPUT_DIR/system) towards `before`; returns the system the run hands on.
    `input_answers`: {split: summary} of the input system answering dev splits as served, measured by the
    routine already (alpha 0 is that system: see known_scores)."""
    from ragadapt.training.merge import answer_score, choose_alpha
    from ragadapt.training.retrieval.evaluation import dev_examples

    out = Path(cfg.output_dir)
    base, adapted = components(before), components(after)
    changed = [c for c, ident in adapted.items() if c in base and base[c] != ident]
    added = [c for c in adapted if c not in base]
    if not changed:
        log.info("merge: the run changed none of its input's components; %s is handed on as it is", after)
        _record(out, {"alpha": None, "skipped": "no component differs from the input's"})
        return after
    unmerged = out / UNMERGED
    if after.resolve() == (out / "system").resolve():  # the run's own system is kept next to the merged one
        shutil.rmtree(unmerged, ignore_errors=True)  # a run artifact of an earlier run of this directory
        os.replace(after, unmerged)
        after = unmerged
    target = out / "system"
    alpha, scores = parse_alpha(cfg.merge), {}
    if alpha == "auto":
        examples = dev_examples(cfg.merge_dev)[: cfg.merge_max]
        score = answer_score(examples)
        work = out / ".merge-candidates"
        shutil.rmtree(work, ignore_errors=True)

        known = known_scores(cfg, input_answers, len(examples))

        def candidate(a: float) -> float:
            return known[a] if a in known else score(_merged(before, after, changed, a, work / f"alpha-{a}"))

        alpha, scores = choose_alpha(candidate, cfg.merge_grid, getattr(cfg, "merge_tolerance", None))
        shutil.rmtree(work, ignore_errors=True)
    _merged(before, after, changed, alpha, target)
    log.info("merge: %s at alpha %.2f -> %s (the run's own system: %s)", ", ".join(changed), alpha, target, after)
    _record(out, {"alpha": alpha, "components": changed, "added": added, "dev": cfg.merge_dev if scores else None,
                  "dev_scores": scores, "unmerged": str(after), "system": str(target)})
    if method in AFTER_MERGE:
        import importlib

        module, name = AFTER_MERGE[method].split(":")
        getattr(importlib.import_module(module), name)(cfg, target, after)
    _report(cfg, out, target, alpha, changed, scores)
    return target


def known_scores(cfg, input_answers: dict | None, n_questions: int) -> dict[float, float]:
    """{0.0: score} when the routine answered the same `merge_dev` questions with its input system as served
    (alpha 0 hands that system on): a pass over merge_dev saved, the same number. Else {}."""
    row = (input_answers or {}).get(cfg.merge_dev) or {}
    if row.get("answered") == n_questions and isinstance(row.get("contains"), float):
        log.info("merge: alpha 0 is the input system; its %s answers (%d) are the routine's own", cfg.merge_dev,
                 n_questions)
        return {0.0: row["contains"]}
    return {}


def _merged(before: Path, after: Path, changed: list[str], alpha: float, out: Path) -> Path:
    """`after` with each of `changed` interpolated towards `before`; at alpha 0 with nothing added, `before`
    itself (its checksums: the input handed on, not a re-saved copy of the same weights)."""
    from ragadapt.system import RAGSystem
    from ragadapt.training.merge import merge_systems

    if alpha == 0.0 and set(components(after)) == set(components(before)):
        RAGSystem.load(before, generator=False).save(out)
        return out
    current = after
    for n, component in enumerate(changed):  # one component at a time, each step on the previous one's system
        step = out if n == len(changed) - 1 else out.parent / f".{out.name}.step{n}"
        merge_systems(before, current, component, alpha, step)
        if current != after:
            shutil.rmtree(current, ignore_errors=True)
        current = step
    return out


def _record(out: Path, record: dict) -> None:
    from ragadapt.atomic import atomic_write_text

    atomic_write_text(out / RECORD, json.dumps(record, indent=2, default=str))


def _report(cfg, out: Path, merged: Path, alpha: float, changed: list[str], scores: dict) -> None:
    """The merged system in the run's report: one more before/after stage (with gates) where the report has
    stages, and the alpha choice in report.md either way."""
    path = out / "report.json"
    if not path.is_file():
        return
    report = json.loads(path.read_text(encoding="utf-8"))
    lines = ["## Merge (WiSE-FT)", "",
             f"{', '.join(changed)} interpolated with the input system's at alpha **{alpha:.2f}** "
             f"(OUTPUT_DIR/system; the run's own: OUTPUT_DIR/{UNMERGED})."]
    if scores:
        lines += ["", f"answer contains on {cfg.merge_dev} ({cfg.merge_max} questions at most) per alpha: " +
                  ", ".join(f"{a:.2f}: {100 * s:.1f}" for a, s in scores.items())]
    if isinstance(report.get("stages"), dict) and getattr(cfg, "evaluate", True):
        _add_stage(cfg, out, report, merged, f"+ merge (alpha {alpha:.2f})")
        return _write(out, report, "\n".join(lines))
    md = out / "report.md"
    text = md.read_text(encoding="utf-8") if md.is_file() else ""
    from ragadapt.atomic import atomic_write_text

    atomic_write_text(md, text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


def _add_stage(cfg, out: Path, report: dict, merged: Path, name: str) -> None:
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.evaluation import dev_examples, dev_sets, evaluate_stage

    system = RAGSystem.load(merged)
    held_out = out / "data" / "test.jsonl"  # the routine's held-out questions, as its other stages answered them
    test = dev_examples(str(held_out)) if held_out.is_file() else []
    report["stages"][name] = evaluate_stage(system, system.generator, test, dev_sets(cfg.dev_set), cfg.answer_k,
                                            cfg.max_answer_eval, out / "eval-merged")


def _write(out: Path, report: dict, merge_text: str) -> None:
    from ragadapt.report import write_report
    from ragadapt.training.retrieval.evaluation import gate_table, gates, markdown_table

    report["gates"] = gates(report["stages"])
    provenance = report.pop("provenance", None)
    table = markdown_table(report["stages"]) + "\n\n" + gate_table(report["gates"]) + "\n\n" + merge_text
    write_report(out, report, table, provenance)
    print(table)
