"""Manifests: the JSON file that makes a saved directory self-describing and checkable.

Every saved component (index, retriever, generator, system) writes `manifest.json` last, listing its
kind, format version, the fields a loader must agree with (embedder name, dimension, count, ...) and
the size and SHA-256 of every file. `read_manifest` refuses a directory that is incomplete,
corrupted, of another kind, of a newer format, or that disagrees with what the caller expects.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ragadapt.errors import ManifestError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
VERIFY_ENV = "RAGADAPT_VERIFY"  # "0" skips checksum verification on load (sizes are still checked)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified_path() -> Path:
    from ragadapt.models import cache_dir

    return cache_dir() / "verified.json"


class _VerifiedHashes:
    """Checksums already verified, keyed by (absolute path, size, mtime_ns, inode): hashing every weight file on
    every load would cost seconds, and a file rewritten in place changes its mtime, so a cached entry never
    vouches for other bytes. Written best-effort (a read-only cache only means hashing again)."""

    def __init__(self):
        self.path = _verified_path()
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False

    @staticmethod
    def key(f: Path) -> tuple[str, str]:
        st = f.stat()
        return str(f.resolve()), f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"

    def sha256(self, f: Path) -> str:
        path, stamp = self.key(f)
        cached = self.entries.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        digest = sha256_file(f)
        self.entries[path] = [stamp, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        if not self.dirty:
            return
        from ragadapt.atomic import atomic_write_text

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.entries))
        except OSError:
            pass


def verification_on() -> bool:
    return os.environ.get(VERIFY_ENV, "1") not in ("0", "false", "no")


def write_manifest(directory: str | Path, kind: str, **fields: Any) -> dict[str, Any]:
    """Write `manifest.json` describing every file already present under `directory`."""
    directory = Path(directory)
    files = {
        str(p.relative_to(directory)): {"size": p.stat().st_size, "sha256": sha256_file(p)}
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
    verify_hashes: bool | None = None,
) -> dict[str, Any]:
    """Load and check a manifest. `expect` maps field -> value the caller requires. Every listed file's size is
    checked; its SHA-256 too unless `verify_hashes=False` or RAGADAPT_VERIFY=0 (verified hashes are cached by
    size, mtime and inode, so a second load of the same files costs no hashing)."""
    directory = Path(directory)
    if verify_hashes is None:
        verify_hashes = verification_on()
    path = directory / MANIFEST
    if not directory.is_dir():
        from ragadapt.atomic import recover

        if not recover(directory):
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
    hashes = _VerifiedHashes() if verify_hashes else None
    for name, info in manifest.get("files", {}).items():
        f = directory / name
        if not f.is_file():
            raise ManifestError(f"{directory}: file {name} listed in the manifest is missing")
        if f.stat().st_size != info["size"]:
            raise ManifestError(f"{f}: size {f.stat().st_size} != {info['size']} recorded in the manifest (corrupted?)")
        if hashes is not None and hashes.sha256(f) != info["sha256"]:
            raise ManifestError(f"{f}: checksum differs from the manifest (corrupted or edited); rebuild or retrain "
                                f"it, or set {VERIFY_ENV}=0 to load it anyway")
    if hashes is not None:
        hashes.save()
    diffs = [
        f"{key}: saved {manifest.get(key)!r}, expected {want!r}"
        for key, want in (expect or {}).items()
        if want is not None and manifest.get(key) != want
    ]
    if diffs:
        raise ManifestError(f"{directory} does not match: " + "; ".join(diffs))
    return manifest


def checksum(directory: str | Path) -> str:
    """One SHA-256 over a saved directory's file list (names, sizes, hashes) as its manifest records it: two
    directories with the same files have the same checksum, whatever else their manifests say."""
    manifest = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    files = json.dumps(manifest.get("files", {}), sort_keys=True)
    return hashlib.sha256(files.encode()).hexdigest()
