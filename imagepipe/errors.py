"""Diagnostics and the error tree shared by every layer.

A Diagnostic is one located finding about the specs (or a step) that the CLI
prints as ``file:line:col: severity: message``. Errors raised by the layers
derive from ImagepipeError so the CLI can map them to exit codes without
showing a traceback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A position in a spec file; line and column are 1-based."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    location: Location | None = None
    address: str | None = None  # step address or Kind/name, when there is one

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.col, self.message)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else (f"{self.address}: " if self.address else "")
        return f"{where}{self.severity.value}: {self.message}"

    def to_json(self) -> dict:
        out: dict = {"severity": self.severity.value, "message": self.message}
        if self.location:
            out.update(file=self.location.file, line=self.location.line, col=self.location.col)
        if self.address:
            out["address"] = self.address
        return out


def error(message: str, location: Location | None = None, address: str | None = None) -> Diagnostic:
    return Diagnostic(Severity.ERROR, message, location, address)


def warning(message: str, location: Location | None = None, address: str | None = None) -> Diagnostic:
    return Diagnostic(Severity.WARNING, message, location, address)


class ImagepipeError(Exception):
    """Base of every error the CLI reports as one clear line (exit 1)."""

    exit_code = 1


class SpecError(ImagepipeError):
    """The specs are invalid; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        first = next((d for d in self.diagnostics if d.is_error), None)
        super().__init__(str(first) if first else "invalid specs")


class SecretError(ImagepipeError):
    """A secret reference could not be resolved (missing env var, unreadable file)."""


class UsageError(ImagepipeError):
    """Bad command-line usage (exit 2)."""

    exit_code = 2


class TargetError(ImagepipeError):
    """The target (Azure or the emulator) could not be reached or authenticated."""


class StalePlanError(ImagepipeError):
    """A saved plan no longer matches the specs or the observed state."""


class ConflictError(ImagepipeError):
    """A resource with a wanted name exists but is not owned by this stack."""
