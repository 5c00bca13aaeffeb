"""Atomic directory writes: a killed process never leaves a half-written directory under the final name.

A save writes into `.NAME.tmp-PID-HEX`, then swaps it with the old directory in one atomic exchange (Linux
renameat2 RENAME_EXCHANGE: at every instant NAME is the old directory or the new one) and removes the old one.
Where the exchange is not available (other systems, old kernels, some file systems) it moves the old directory
aside (`.NAME.old-PID-HEX`) and the new one in: two renames; a kill between them leaves only the old copy, and
`recover` (run by every save and by every load of a missing directory) moves it back. Temporary directories of
writers that are no longer running are removed at the next save of the same name.
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


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 with RENAME_EXCHANGE, through libc: the os module has no
    call for it). False where the system cannot; nothing has changed then."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


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
    if target.exists() and _exchange(tmp, target):  # tmp now holds the old directory
        shutil.rmtree(tmp, ignore_errors=True)
        return
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
