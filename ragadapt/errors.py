"""Errors a user can act on. Each message says what was wrong and where (file, line, field)."""

from __future__ import annotations


class RagadaptError(Exception):
    """Base class: the CLI prints these as one clean message instead of a traceback."""


class DataFormatError(RagadaptError, ValueError):
    """Malformed input data; the message names the file, line and field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, field: str | None = None):
        where = ":".join(str(p) for p in (path, line) if p is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field {field!r})" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")
        self.path, self.line, self.field = path, line, field


class EmptyCorpusError(RagadaptError, ValueError):
    """The corpus held no usable document."""


class UnknownModelError(RagadaptError, ValueError):
    """A model name that is neither a bundled alias, a local directory, nor a loadable hub id."""


class ManifestError(RagadaptError, ValueError):
    """A saved directory is missing, corrupted, or does not match what the caller expects."""


class MissingExtraError(RagadaptError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'ragadapt[{extra}]'"
        )
        self.package, self.extra = package, extra
