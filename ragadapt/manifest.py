"""Manifests: the JSON file that makes a saved directory self-describing and checkable.

Every saved component (index, retriever, generator, system) writes `manifest.json` last, listing its
kind, format version, the fields a loader must agree with (embedder name, dimension, count, ...) and
the size and SHA-256 of every file. `read_manifest` refuses a directory that is incomplete,
corrupted, of another kind, of a newer format, or that disagrees with what the caller expects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ragadapt.errors import ManifestError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(directory: str | Path, kind: str, **fields: Any) -> dict[str, Any]:
    """Write `manifest.json` describing every file already present under `directory`."""
    directory = Path(directory)
    files = {
        str(p.relative_to(directory)): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {"kind": kind, "format_version": FORMAT_VERSION, **fields, "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False), encoding="utf-8")
    return manifest


def read_manifest(
    directory: str | Path,
    kind: str | tuple[str, ...],
    expect: dict[str, Any] | None = None,
    verify_hashes: bool = True,
) -> dict[str, Any]:
    """Load and check a manifest. `expect` maps field -> value the caller requires."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ManifestError(f"{directory}: no such directory")
    if not path.is_file():
        raise ManifestError(
            f"{directory}: no {MANIFEST}; the directory is not a saved ragadapt {kind} "
            "(or its write was interrupted before it finished)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: corrupted manifest ({e})") from e
    kinds = (kind,) if isinstance(kind, str) else kind
    if manifest.get("kind") not in kinds:
        raise ManifestError(f"{path}: holds a {manifest.get('kind')!r}, expected {' or '.join(map(repr, kinds))}")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise ManifestError(
            f"{path}: format version {manifest['format_version']} is newer than this ragadapt "
            f"understands ({FORMAT_VERSION}); upgrade ragadapt"
        )
    for name, info in manifest.get("files", {}).items():
        f = directory / name
        if not f.is_file():
            raise ManifestError(f"{directory}: file {name} listed in the manifest is missing")
        if f.stat().st_size != info["size"]:
            raise ManifestError(f"{f}: size {f.stat().st_size} != {info['size']} recorded in the manifest (corrupted?)")
        if verify_hashes and _sha256(f) != info["sha256"]:
            raise ManifestError(f"{f}: checksum differs from the manifest (corrupted or edited)")
    diffs = [
        f"{key}: saved {manifest.get(key)!r}, expected {want!r}"
        for key, want in (expect or {}).items()
        if want is not None and manifest.get(key) != want
    ]
    if diffs:
        raise ManifestError(f"{directory} does not match: " + "; ".join(diffs))
    return manifest
