"""What a report says about the run that made it: code version, hardware, time, inputs with checksums.

Every report.json (eval and every routine) carries `provenance`, so a figure can be traced to the system, data
and code that produced it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def file_checksum(path: str | Path) -> str | None:
    """SHA-256 of a file, or of a saved directory's file list (its manifest), or None when it is not there."""
    path = Path(path)
    if path.is_dir() and (path / "manifest.json").is_file():
        from ragadapt.manifest import checksum

        return checksum(path)
    if not path.is_file():
        return None
    from ragadapt.manifest import sha256_file

    return sha256_file(path)


def code_version() -> str:
    """ragadapt's version, plus the git commit (and '+dirty') when run from a checkout."""
    from ragadapt import __version__

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"{__version__}+{commit}{'.dirty' if dirty else ''}" if commit else __version__


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                            "omp_threads": os.environ.get("OMP_NUM_THREADS")}
    if "torch" in sys.modules:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run_info(inputs: dict[str, str | Path | None] | None = None, **settings: Any) -> dict[str, Any]:
    """The `provenance` block of a report: inputs (path + checksum), settings, code version, hardware, time."""
    return {
        "inputs": {name: {"path": str(p), "sha256": file_checksum(p)} for name, p in (inputs or {}).items() if p},
        "settings": settings,
        "code": code_version(),
        "python": platform.python_version(),
        "hardware": hardware(),
        "command": " ".join(sys.argv),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
