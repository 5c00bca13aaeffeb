"""`ragadapt train pipeline`: adaptation stages in order, each starting from the previous stage's system.

A stage is a routine (`method`) with its own config (a YAML `config` file and/or inline `fields`); the pipeline
sets its `system` to the previous stage's OUTPUT_DIR/system and its `output_dir` to OUTPUT_DIR/NN-NAME. A
finished stage is reused on a rerun only when its fingerprint (resolved config, input system's checksum, data
checksums) matches; a stage whose config or input changed runs again, and so does every stage after it (their
input changed). At the end every stage's system answers the same questions: one table, report.md/report.json.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragadapt.atomic import atomic_write_text
from ragadapt.report import write_report
from ragadapt.errors import DataFormatError
from ragadapt.training.config import RunConfig, _help

log = logging.getLogger(__name__)

STAGE_DONE = "stage.json"


@dataclass
class PipelineStage:
    name: str = _help("stage name; its run goes to OUTPUT_DIR/NN-NAME", "")
    method: str = _help("the routine: generator-contextual, retriever-replug, reranker, ra-dit, bridge, agent, "
                        "sft, dpo, grpo, rloo, cpt", "")
    config: str | None = _help("YAML config file of the routine (its `system` and `output_dir` are set by the "
                               "pipeline)", None)
    fields: dict = _help("fields over the config file (same keys as the routine's config; `merge: auto` merges "
                         "what the stage adapted back towards its input, see ragadapt.training.merged_run)",
                         factory=dict)


@dataclass
class PipelineConfig(RunConfig):
    """Stages that adapt one system in turn, and one comparison of every stage's system."""

    system: str = _help("the starting system (built from `corpus` with the embedded defaults when missing)",
                        "runs/wiki")
    corpus: str = _help("corpus used when `system` has to be built", "wiki")
    output_dir: str = _help("one folder per stage, report.md and report.json", "runs/pipeline")
    stages: list[PipelineStage] = _help("the stages, in order", factory=list)
    eval_sets: dict = _help("name -> QA .jsonl (`bundled`: the hand-written wiki dev set; a path may be one a stage "
                            "writes, e.g. OUTPUT_DIR/02-retriever/data/test.jsonl)", factory=lambda: {"dev": "bundled"})
    max_eval: int = _help("questions per evaluation set answered end to end", 100)
    ks: list[int] = _help("recall cut-offs", factory=lambda: [1, 5])
    faithfulness_data: str | None = _help("contexts .jsonl for the faithfulness columns (default: the test contexts "
                                          "of a generator-contextual stage, when there is one)", None)
    faithfulness_max: int = _help("contexts evaluated per generator", 100)
    evaluate: bool = _help("compare every stage's system at the end", True)
    resume: str = _help("auto (reuse finished stages whose fingerprint matches) or never (rerun every stage)",
                        "auto")
    seed: int = _help("seed given to every stage that does not set its own", 42)
def stage_dir(cfg: PipelineConfig, index: int, stage: PipelineStage) -> Path:
    return Path(cfg.output_dir) / f"{index:02d}-{stage.name or stage.method}"


def stage_config(cfg: PipelineConfig, index: int, stage: PipelineStage, system: str):
    """The routine's config for this stage, starting from `system`."""
    from ragadapt.training import METHODS, routine
    from ragadapt.training.config import load_config

    if stage.method not in METHODS or stage.method == "pipeline":
        names = ", ".join(m for m in METHODS if m != "pipeline")
        raise DataFormatError(f"unknown method {stage.method!r}; choose from {names}", field=f"stages[{index - 1}].method")
    cls, train = METHODS[stage.method][0], routine(stage.method)
    fields = {"seed": cfg.seed, **stage.fields, "system": system, "output_dir": str(stage_dir(cfg, index, stage))}
    if stage.method != "generator-contextual" and "corpus" in cls.__dataclass_fields__:
        fields.setdefault("corpus", cfg.corpus)
    return load_config(cls, stage.config, values=fields), train


def _done(directory: Path, fp: dict) -> Path | None:
    """The system a finished stage wrote, when it finished with this fingerprint."""
    from ragadapt.training.fingerprint import matches

    record = directory / STAGE_DONE
    if not (record.is_file() and matches(directory / "pipeline", fp)):
        return None
    system = Path(json.loads(record.read_text())["system"])
    return system if (system / "manifest.json").is_file() else None


def run_pipeline(cfg: PipelineConfig):
    """Run (or reuse) every stage; returns the TrainResult-like summary of the last one and the comparison."""
    from ragadapt.training import fingerprint
    from ragadapt.training.compose import input_system
    from ragadapt.training.config import to_dict
    from ragadapt.training.runner import TrainResult

    if not cfg.stages:
        raise DataFormatError("a pipeline needs at least one stage", field="stages")
    if cfg.resume not in ("auto", "never"):
        raise DataFormatError(f"must be auto or never, got {cfg.resume!r}", field="resume")
    out = Path(cfg.output_dir)
    input_system(cfg.system, cfg.corpus)  # built once when missing
    systems = {"base": Path(cfg.system)}
    current, steps = str(cfg.system), 0
    for index, stage in enumerate(cfg.stages, start=1):
        stage_cfg, train = stage_config(cfg, index, stage, current)
        directory = stage_dir(cfg, index, stage)
        fp = fingerprint.make(to_dict(stage_cfg), method=stage.method, merge=merge_settings(stage_cfg))
        reused = _done(directory, fp) if cfg.resume == "auto" else None
        if reused is not None:
            log.info("stage %d (%s): finished earlier with the same config and input; reusing %s", index,
                     stage.method, reused)
            current = str(reused)
        else:
            if (directory / STAGE_DONE).is_file() or cfg.resume == "never":
                # finished before with another config or input: its checkpoints and caches do not apply
                log.warning("stage %d (%s): config or input changed since %s was made; replacing it", index,
                            stage.method, directory)
                shutil.rmtree(directory)
            log.info("stage %d (%s) from %s", index, stage.method, current)
            result = train(stage_cfg)
            if result.system_dir is None:
                raise DataFormatError(f"stage {stage.name or stage.method} wrote no system", field="stages")
            steps += result.global_step
            current = str(result.system_dir)
            record = {"method": stage.method, "system": current}
            fingerprint.check(directory / "pipeline", fp, "never")
            atomic_write_text(directory / STAGE_DONE, json.dumps(record))
        systems[f"{index:02d} {stage.name or stage.method}"] = Path(current)
    report = compare_systems(cfg, systems) if cfg.evaluate else {}
    return TrainResult(out, Path(current), steps, stats={"report": report}, system_dir=Path(current))


def merge_settings(stage_cfg) -> dict:
    """The stage's `merge` fields: part of its fingerprint here (the routine's own leaves them out, so a new merge
    does not retrain), since a stage reused with another merge would hand on the wrong system."""
    from ragadapt.training.fingerprint import MERGE_FIELDS

    return {name: getattr(stage_cfg, name) for name in MERGE_FIELDS if hasattr(stage_cfg, name)}


def _faithfulness_data(cfg: PipelineConfig) -> Path | None:
    if cfg.faithfulness_data:
        return Path(cfg.faithfulness_data)
    for index, stage in enumerate(cfg.stages, start=1):
        if stage.method == "generator-contextual":
            path = stage_dir(cfg, index, stage) / "data" / "test.jsonl"
            if path.is_file():
                return path
    return None


def compare_systems(cfg: PipelineConfig, systems: dict[str, Path]) -> dict:
    """Every stage's system on the same questions: recall@k, answers, passages passed, faithfulness."""
    from ragadapt.eval.runner import evaluate
    from ragadapt.provenance import run_info
    from ragadapt.system import RAGSystem
    from ragadapt.training.retrieval.evaluation import dev_examples

    out = Path(cfg.output_dir)
    sets = {name: dev_examples(str(path))[: cfg.max_eval] for name, path in cfg.eval_sets.items()}
    faith_path = _faithfulness_data(cfg)
    faith_by_generator: dict[str, dict] = {}
    report: dict[str, dict] = {}
    evaluated: dict[str, str] = {}  # what a system is made of -> the first stage evaluated with it
    for name, directory in systems.items():
        same = evaluated.setdefault(_system_key(directory), name)
        if same != name:  # a stage that handed on its input: the same components answer the same way (greedy)
            report[name] = {**report[same], "system": str(directory), "same_as": same}
            log.info("%s: the same components as %s; its results are reused", name, same)
            continue
        system = RAGSystem.load(directory)
        report[name] = {"system": str(directory)}
        for split, examples in sets.items():
            eval_dir = out / "eval" / name.replace(" ", "-") / split
            report[name][split] = evaluate(system, examples, ks=cfg.ks, out_dir=eval_dir, show_progress=False)
        if faith_path is not None:
            key = _generator_checksum(directory)
            if key not in faith_by_generator:
                faith_by_generator[key] = _faithfulness(system, faith_path, cfg.faithfulness_max)
            report[name]["faithfulness"] = faith_by_generator[key]
        log.info("%s: %s", name, {s: {k: report[name][s].get(k) for k in ("recall@1", "contains")} for s in sets})
        del system
    provenance = run_info({"base system": cfg.system, **{f"eval {k}": v for k, v in cfg.eval_sets.items()
                                                         if v != "bundled"}, "faithfulness": faith_path},
                          stages=[s.method for s in cfg.stages], max_eval=cfg.max_eval)
    table = markdown(report, list(sets), cfg.ks)
    write_report(out, {"systems": report}, table, provenance)
    print(table)
    return report


def _system_key(system_dir: Path) -> str:
    """What a system answers with: each component's checksum (or model reference) and the RAG config; not the
    provenance, which differs between stages that hand on the same components."""
    manifest = json.loads((system_dir / "manifest.json").read_text())
    parts = {name: part.get("checksum") or part.get("ref") for name, part in manifest["components"].items()}
    return json.dumps({"components": parts, "config": manifest.get("config")}, sort_keys=True)


def _generator_checksum(system_dir: Path) -> str:
    part = json.loads((system_dir / "manifest.json").read_text())["components"].get("generator", {})
    return part.get("checksum") or part.get("ref") or "none"


def _faithfulness(system, path: Path, limit: int) -> dict:
    """The system's generator on fixed contexts, with the system's prompt."""
    from ragadapt.eval.faithfulness import evaluate_faithfulness
    from ragadapt.training.contextual import load_test

    summary, _ = evaluate_faithfulness(system.generator, load_test(path)[:limit], prompt=system.prompt())
    return summary


FAITH_COLUMNS = (("answerable_contains", "answerable (contexts)"), ("false_abstention", "false abstention"),
                 ("abstention", "abstains when unanswerable"), ("counterfactual_following", "follows edited context"),
                 ("conflict_detection", "flags conflicts"))


def markdown(report: dict, splits: list[str], ks: list[int]) -> str:
    faith = any("faithfulness" in r for r in report.values())
    head = ["system", "split", "n"] + [f"recall@{k}" for k in ks] + ["contains", "EM", "F1", "passages"]
    if faith:
        head += [label for _, label in FAITH_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in report.items():
        for split in splits:
            m = row[split]
            label = f"{name} (= {row['same_as']})" if row.get("same_as") else name  # handed on its input
            cells = [label, split, str(m["n"])] + [f"{100 * m[f'recall@{k}']:.1f}" for k in ks] + \
                [f"{100 * m[key]:.1f}" for key in ("contains", "em", "f1")] + [f"{m['n_passages']:.2f}"]
            if faith:
                f = row.get("faithfulness", {})
                cells += [f"{100 * f[key]:.1f}" if isinstance(f.get(key), float) else "-" for key, _ in FAITH_COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
