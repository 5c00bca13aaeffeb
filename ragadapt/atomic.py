"""Atomic directory writes: a killed process never leaves a half-written directory under the final name.

A save writes into `.NAME.tmp-PID-HEX`, then moves the old directory aside (`.NAME.old-PID-HEX`) and the new one
in: two renames. A kill between them leaves no directory under the name, only the old copy; `recover` (run by
every save and by every load of a missing directory) moves it back. Temporary directories of writers that are
no longer running are removed at the next save of the same name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _siblings(target: Path, tag: str) -> list[tuple[Path, int | None]]:
    """(path, writer pid or None) of `.NAME.<tag>-*` siblings of `target`."""
    out = []
    if not target.parent.is_dir():
        return out
    prefix = f".{target.name}.{tag}-"
    for p in target.parent.iterdir():
        if p.name.startswith(prefix):
            head = p.name[len(prefix):].split("-", 1)[0]
            out.append((p, int(head) if head.isdigit() and "-" in p.name[len(prefix):] else None))
    return out


def recover(target: str | os.PathLike) -> bool:
    """Put back the previous version of `target` when a save was killed between its two renames; remove the
    leftovers of writers that died. True when something was recovered."""
    target = Path(target)
    recovered = False
    olds = sorted(_siblings(target, "old"), key=lambda t: t[0].stat().st_mtime, reverse=True)
    if not target.exists() and olds:
        os.replace(olds[0][0], target)
        log.warning("%s: an earlier save was interrupted between its two renames; the previous version was "
                    "restored from %s", target, olds[0][0].name)
        olds, recovered = olds[1:], True
    for path, pid in olds + _siblings(target, "tmp"):
        if pid is None or not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
    return recovered


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary sibling of `target`; on success it replaces `target`.

    The temporary name starts with a dot and ends in `.tmp-PID-HEX`, so loaders never mistake it for a
    finished directory. On error the temporary directory is removed and `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = target.parent / f".{target.name}.tmp-{tag}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{tag}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a file through a temporary sibling and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
