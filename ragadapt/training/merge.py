"""Weight-space merging of an adapted component with its base (WiSE-FT, Wortsman et al. 2022; model soups):
theta = (1 - alpha) * theta_base + alpha * theta_adapted, per tensor.

An adapted component that gains on its training style but loses elsewhere often keeps most of the gain and
loses much less at an intermediate alpha. `merge_component` works on saved directories (any component whose
weights are safetensors files: generator, query encoder, reranker, bridge); `merge_systems` writes a system with
the merged component; `choose_alpha` picks alpha on dev-select questions. Written here because neither
transformers nor PEFT interpolates two full checkpoints of one architecture (PEFT merges adapters only).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ragadapt.errors import DataFormatError

log = logging.getLogger(__name__)

GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def interpolate(base: dict, adapted: dict, alpha: float) -> tuple[dict, int]:
    """Tensors of `adapted` moved towards `base`; alpha 0 and 1 give `base` / `adapted` bit for bit. Tensors
    the base lacks (or holds in another shape), and non-float tensors, stay as adapted; their count is returned."""
    import torch

    out, kept = {}, 0
    for name, tensor in adapted.items():
        other = base.get(name)
        if other is None or other.shape != tensor.shape or not tensor.is_floating_point():
            out[name], kept = tensor, kept + 1
        elif alpha == 0.0:
            out[name] = other.to(tensor.dtype)
        elif alpha == 1.0:
            out[name] = tensor
        else:
            out[name] = torch.lerp(other.float(), tensor.float(), alpha).to(tensor.dtype)
    return out, kept


def _base_file(rel: Path, base_dir: Path, fallback: Path | None) -> Path | None:
    """The base's counterpart of an adapted weights file: same relative path, or the shared encoder for a
    split query encoder (`query_encoder/...`), or the same name in the base model's own directory."""
    candidates = [base_dir / rel, base_dir / Path(*[p for p in rel.parts if p != "query_encoder"])]
    if fallback is not None:
        candidates += [fallback / rel.name]
    return next((c for c in candidates if c.is_file()), None)


def merge_component(base_dir: str | Path, adapted_dir: str | Path, alpha: float, out_dir: str | Path,
                    base_model_dir: str | Path | None = None) -> Path:
    """Write `out_dir`: `adapted_dir` with every safetensors file interpolated towards its base counterpart."""
    from safetensors.torch import load_file, save_file

    from ragadapt.atomic import atomic_dir
    from ragadapt.generation.abstain import FIELD as ABSTENTION
    from ragadapt.manifest import MANIFEST, write_manifest

    if not 0.0 <= float(alpha) <= 1.0:
        raise DataFormatError(f"merge alpha must be in [0, 1], got {alpha!r}", field="merge")
    base_dir, adapted_dir = Path(base_dir), Path(adapted_dir)
    fallback = Path(base_model_dir) if base_model_dir else None
    weights = sorted(p.relative_to(adapted_dir) for p in adapted_dir.rglob("*.safetensors"))
    if not weights:
        raise DataFormatError(f"{adapted_dir}: no safetensors weights to merge")
    stats = {"alpha": float(alpha), "files": 0, "tensors_kept_as_adapted": 0, "base": str(base_dir)}
    with atomic_dir(out_dir) as tmp:
        shutil.copytree(adapted_dir, tmp, dirs_exist_ok=True)
        for rel in weights:
            base_file = _base_file(rel, base_dir, fallback)
            if base_file is None:
                stats["tensors_kept_as_adapted"] += len(load_file(str(adapted_dir / rel)))
                continue
            merged, kept = interpolate(load_file(str(base_file)), load_file(str(adapted_dir / rel)), float(alpha))
            save_file(merged, str(tmp / rel), metadata={"format": "pt"})
            stats["files"] += 1
            stats["tensors_kept_as_adapted"] += kept
        manifests = sorted(tmp.rglob(MANIFEST), key=lambda p: -len(p.parts))  # nested manifests first
        for path in manifests:
            fields = json.loads(path.read_text(encoding="utf-8"))
            kind = fields.pop("kind")
            for key in ("format_version", "files"):
                fields.pop(key, None)
            if path.parent == tmp and float(alpha) != 1.0 and fields.pop(ABSTENTION, None) is not None:
                # a likelihood-ratio rule's threshold was set on the adapted weights' margins; the merged weights
                # have others, so the rule is not carried (the routine that set it calibrates the merged model)
                log.info("merge: %s's abstention rule is not carried to the merged weights", adapted_dir)
            path.unlink()
            write_manifest(path.parent, kind, **{**fields, **({"merge": stats} if path.parent == tmp else {})})
    log.info("merged %s into %s at alpha %.2f: %d weight files, %d tensors kept as adapted", adapted_dir, out_dir,
             alpha, stats["files"], stats["tensors_kept_as_adapted"])
    return Path(out_dir)


def component_dir(system_dir: Path, component: str) -> tuple[Path | None, Path | None]:
    """(the component's directory inside the system, the base model directory it was made from, if named)."""
    from ragadapt.models import resolve_model

    part = json.loads((system_dir / "manifest.json").read_text())["components"].get(component)
    if part is None:
        return None, None
    if "ref" in part:
        return None, Path(resolve_model(part["ref"], kind="generator"))
    directory = system_dir / part["dir"]
    named = json.loads((directory / "manifest.json").read_text()).get("embedder")  # a dense retriever's base
    return directory, (Path(resolve_model(named)) if named and not (directory / "embedder").is_dir() else None)


def merge_systems(base_system: str | Path, adapted_system: str | Path, component: str, alpha: float,
                  out: str | Path) -> Path:
    """`adapted_system` with its `component` interpolated towards `base_system`'s; the rest carried over."""
    from ragadapt.system import RAGSystem

    base_system, adapted_system = Path(base_system), Path(adapted_system)
    adapted_dir, _ = component_dir(adapted_system, component)
    if adapted_dir is None:
        raise DataFormatError(f"{adapted_system} holds no stored {component} to merge", field="component")
    base_dir, base_model = component_dir(base_system, component)
    if base_dir is None and base_model is None:
        raise DataFormatError(f"{base_system} has no {component}: nothing to merge towards", field="component")
    out = Path(out)
    merged = merge_component(base_dir or base_model, adapted_dir, alpha, out.parent / f".{out.name}.merged-{component}",
                             base_model)
    system = RAGSystem.load(adapted_system, generator=False)
    system.replace(component, None, directory=merged, provenance={
        **(system.provenance.get(component) or {}), "merge": {"alpha": alpha, "base_system": str(base_system)}})
    system.save(out)
    shutil.rmtree(merged, ignore_errors=True)
    return out


def choose_alpha(score: Callable[[float], float], grid: Sequence[float] = GRID,
                 tolerance: float | None = None) -> tuple[float, dict[float, float]]:
    """The alpha of `grid` with the best `score` (evaluated on dev-select); ties go to the smaller alpha (closer
    to the base: the safer of two equal choices). With `tolerance`: the largest alpha (the most of the
    adaptation) whose score is at most `tolerance` below alpha 0's (the base's): for an adaptation the dev
    questions do not measure (abstaining on unanswerable contexts), as long as they do not lose."""
    scores = {float(a): float(score(float(a))) for a in grid}
    if tolerance is None:
        best = max(scores, key=lambda a: (scores[a], -a))
    else:
        if 0.0 not in scores:
            raise DataFormatError("a merge tolerance is measured from alpha 0: put 0 in merge_grid",
                                  field="merge_grid")
        best = max(a for a, s in scores.items() if s >= scores[0.0] - tolerance - 1e-9)
    log.info("merge alpha on dev-select: %s -> %.2f", {a: round(s, 4) for a, s in scores.items()}, best)
    return best, scores


def answer_score(examples, metric: str = "contains") -> Callable[[Path], float]:
    """A system directory -> its mean `metric` on `examples` (end-to-end answers)."""
    from ragadapt.eval.runner import evaluate
    from ragadapt.system import RAGSystem

    def score(system_dir: Path) -> float:
        return evaluate(RAGSystem.load(system_dir), examples, ks=(1,), show_progress=False)[metric]

    return score


def merge_auto(base_system: str | Path, adapted_system: str | Path, component: str, out: str | Path, examples,
               grid: Sequence[float] = GRID, metric: str = "contains", tolerance: float | None = None
               ) -> tuple[Path, float, dict]:
    """Merge at the alpha whose system answers `examples` (dev-select) best (or, with `tolerance`, the largest
    within it of alpha 0: see choose_alpha); returns (system, alpha, scores)."""
    evaluate_system = answer_score(examples, metric)
    with tempfile.TemporaryDirectory(dir=Path(out).parent if Path(out).parent.exists() else None) as tmp:
        def score(alpha: float) -> float:
            return evaluate_system(merge_systems(base_system, adapted_system, component, alpha, Path(tmp) / f"a{alpha}"))

        alpha, scores = choose_alpha(score, grid, tolerance)
    return merge_systems(base_system, adapted_system, component, alpha, out), alpha, scores
