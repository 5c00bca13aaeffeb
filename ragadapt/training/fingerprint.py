"""Fingerprinted runs: a checkpoint, finished round or stage is reused only when what determines its result is
what made it.

A run directory holds `fingerprint.json`: the resolved config (less the fields that only say where or how
often to log or save), the checksums of its data files and of its starting model, and the ragadapt version.
A rerun whose fingerprint differs stops with one line naming what changed and the two ways out; `resume=never`
retrains in the same directory (its old checkpoints removed first, so none of them is resumed later).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from ragadapt.errors import RagadaptError

log = logging.getLogger(__name__)

FINGERPRINT = "fingerprint.json"
# where / how often to log or save, and how long to train: changing them does not change what a step computes
# (a longer max_steps continues the run)
VOLATILE = {"output_dir", "resume", "evaluate", "logging_steps", "save_steps", "save_total_limit", "report_to",
            "disable_tqdm", "dataloader_num_workers", "max_steps", "num_train_epochs", "eval_steps",
            "max_answer_eval", "dev_set", "score_cache", "logging_dir", "run_name"}

# how the finished run is merged back towards its input (ragadapt.training.merged_run): done after training, from
# its result, so a new merge reuses the trained run (top-level fields only: a LoRA setting is also named merge)
MERGE_FIELDS = ("merge", "merge_dev", "merge_max", "merge_grid", "merge_tolerance")


class RunMismatch(RagadaptError):
    """A run directory was made with other settings than the ones given now."""


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def path_checksum(path: str | None) -> str | None:
    """Checksum of a file or saved directory; a plain model directory by its files' names and sizes; None for a
    model name (bundled or hub) or a path that is not there."""
    from ragadapt.provenance import file_checksum

    if not path or not Path(path).exists():
        return None
    p = Path(path)
    if p.is_dir() and not (p / "manifest.json").is_file():
        import hashlib

        listing = sorted((str(f.relative_to(p)), f.stat().st_size) for f in p.rglob("*") if f.is_file())
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return file_checksum(p)


def _sources(value: Any) -> list[str]:
    """Every `path` of a data source (nested mixtures and stages included)."""
    if isinstance(value, dict):
        found = [value["path"]] if isinstance(value.get("path"), str) and value.get("path") else []
        return found + [p for v in value.values() for p in _sources(v)]
    if isinstance(value, list):
        return [p for v in value for p in _sources(v)]
    return []


def make(config: dict, **extra: Any) -> dict:
    """The fingerprint of a run of `config` (a dict): config, data and model checksums, code version."""
    from ragadapt import __version__

    data = {p: path_checksum(p) for p in sorted(set(_sources({k: v for k, v in config.items()
                                                              if k in ("data", "replay", "stages", "eval_data")})))}
    models = {k: path_checksum(config.get(k)) for k in ("model", "system", "ref_model") if config.get(k)}
    config = {k: v for k, v in config.items() if k not in MERGE_FIELDS}
    return {"config": _strip(config), "data": data, "inputs": models, **extra, "ragadapt": __version__.split("+")[0]}


def _diff(old: Any, new: Any, where: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _diff(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        return out
    return [] if old == new else [f"{where or 'value'} {old!r} -> {new!r}"]


def _checkpoints(directory: Path) -> list[Path]:
    return [p for p in directory.glob("checkpoint-*") if p.is_dir()] if directory.is_dir() else []


def check(directory: str | Path, fingerprint: dict, resume: str, what: str = "this run") -> None:
    """Refuse to reuse `directory` when it was made by a run with another fingerprint; record the new one."""
    from ragadapt.atomic import atomic_write_text

    directory = Path(directory)
    path = directory / FINGERPRINT
    if resume == "never":
        for ckpt in _checkpoints(directory):
            shutil.rmtree(ckpt, ignore_errors=True)
    elif path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        changes = _diff(old, fingerprint)
        if changes:
            shown = "; ".join(changes[:3]) + (f" (and {len(changes) - 3} more)" if len(changes) > 3 else "")
            raise RunMismatch(f"{directory} holds {what} made with other settings ({shown}): rerun with "
                              "resume=never to retrain there, or choose another output_dir")
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(fingerprint, indent=2, default=str))


def matches(directory: str | Path, fingerprint: dict) -> bool:
    """True when `directory` was finished by a run with this fingerprint (a reusable round or stage)."""
    path = Path(directory) / FINGERPRINT
    try:
        return json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(fingerprint, default=str))
    except (OSError, ValueError):
        return False


def last_complete_checkpoint(directory: str | Path) -> str | None:
    """The newest `checkpoint-N` whose trainer state was written (transformers writes trainer_state.json last,
    so a checkpoint killed while being written has none and is skipped, with a warning)."""
    def step(p: Path) -> int:
        tail = p.name.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    for ckpt in sorted(_checkpoints(Path(directory)), key=step, reverse=True):
        state = ckpt / "trainer_state.json"
        try:
            json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("%s is incomplete (no readable trainer_state.json: its write was interrupted); skipped",
                        ckpt)
            continue
        return str(ckpt)
    return None
