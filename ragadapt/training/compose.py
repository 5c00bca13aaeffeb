"""One system in, one system out: what every adaptation routine shares.

A routine reads `system:` (a saved RAG system; built from `corpus` with the embedded defaults when the directory
does not exist yet), scores or rewards with **that system's generator** unless its config names another, trains
one component with the others frozen, and writes OUTPUT_DIR/system: the input system with that component
replaced and every other one carried over byte for byte. `TrainResult.system_dir` and `.component_dir` name both.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ragadapt.errors import DataFormatError

log = logging.getLogger(__name__)

SYSTEM = "system"
DEFAULT_GENERATOR = "smollm2-135m-instruct"


def input_system(system_dir: str, corpus: str = "wiki"):
    """The system to adapt, generator not loaded (it is carried over when the system is saved again)."""
    from ragadapt.system import RAGSystem

    if not (Path(system_dir) / "manifest.json").exists():
        log.info("no system at %s: building it from corpus %r", system_dir, corpus)
        _build(system_dir, corpus)
    return RAGSystem.load(system_dir, generator=False)


def _build(system_dir: str, corpus: str) -> None:
    from ragadapt.system import RAGSystem

    system = RAGSystem.build(corpus, generator=None)
    system.generator_ref = DEFAULT_GENERATOR  # by name, as `ragadapt build` records it
    system.save(system_dir)


def generator_source(system_dir: str | Path, override: str | None = None) -> str:
    """What to load as the frozen generator: `override` when given, else the system's own generator (its stored
    weights or the name it refers to)."""
    if override:
        return override
    from ragadapt.manifest import read_manifest

    part = read_manifest(system_dir, "rag-system", verify_hashes=False)["components"].get("generator")
    if not part:
        raise DataFormatError(f"{system_dir} has no generator: name one to score with (scorer=NAME_OR_DIR)",
                              field="scorer")
    return str(Path(system_dir) / part["dir"]) if "dir" in part else part["ref"]


def generator_tag(source: str) -> str:
    """A short, stable name for a generator, for cache file names: the alias, or the directory's checksum (two
    systems' generators at the same relative path are not the same model)."""
    path = Path(source)
    if (path / "manifest.json").is_file():
        from ragadapt.manifest import checksum

        return f"{path.name}-{checksum(path)[:12]}"
    return re.sub(r"[^\w.-]+", "_", source).strip("_")


def model_or_system_generator(model: str | None, system_dir: str | None) -> str:
    """The model a generator-side routine starts from: `model`, else the system's generator, else the default."""
    if model:
        return model
    if system_dir and (Path(system_dir) / "manifest.json").exists():
        return generator_source(system_dir)
    return DEFAULT_GENERATOR


def provenance(method: str, out: Path, config) -> dict:
    """What the system manifest records about a component a routine produced."""
    import dataclasses

    from ragadapt import __version__

    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config or {})
    return {"method": method, "run": str(out), "ragadapt": __version__, "config": cfg}


def write_system(system, out: Path, component: str, method: str, config, component_dir: Path | None = None,
                 module=None, run: Path | None = None) -> Path:
    """Save OUTPUT_DIR/system with `component` replaced: by `module` (saved from memory) or by the directory
    `component_dir` (copied, e.g. a training run's final/). `run`: the run the provenance names when `out` is
    one of its stages (default: `out`)."""
    system.replace(component, module, provenance=provenance(method, run or out, config), directory=component_dir)
    target = out / SYSTEM
    system.save(target)
    log.info("%s: system with the adapted %s saved to %s", method, component, target)
    return target


def _started_from_its_generator(cfg) -> bool:
    try:
        return getattr(cfg, "model", None) == generator_source(cfg.system)
    except DataFormatError:  # the system has no generator
        return False


def adapts_generator(train, method: str):
    """Wrap a generator-side routine (sft, dpo, grpo, rloo, cpt, generator-contextual, agent): when its config
    names a `system`, write OUTPUT_DIR/system with the trained model (the run's final/) as the generator. A run
    that started from the system's own generator and whose dev-select choice kept step 0 hands the system on
    with that generator as it came in (the same checksum, not a copy of the same weights)."""

    def run(cfg):
        from ragadapt.training.best import kept_start

        result = train(cfg)
        if getattr(cfg, "system", None) and result.system_dir is None:  # (a routine may hand on its input itself)
            system = input_system(cfg.system, getattr(cfg, "corpus", "wiki"))
            out = Path(cfg.output_dir)
            if kept_start(result.final_dir) and _started_from_its_generator(cfg):
                log.info("%s: dev-select kept step 0; the system keeps its generator", method)
                result.system_dir = out / SYSTEM
                system.save(result.system_dir)
            else:
                result.system_dir = write_system(system, out, "generator", method, cfg, component_dir=result.final_dir)
        return result

    run.__name__ = getattr(train, "__name__", method)
    run.__doc__ = train.__doc__
    return run
