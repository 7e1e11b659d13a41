"""Diagnostics and the error tree shared by every layer.

A Diagnostic is one located finding about the specs (or a step) that the CLI
prints as ``file:line:col: severity: message``, then one indented line per Note. Errors raised by the layers
derive from ImagepipeError so the CLI can map them to exit codes without
showing a traceback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    """What the process exits with (DESIGN.md, command line)."""

    SUCCESS = 0
    FAILURE = 1  # every error: a failed step, invalid specs, bad usage, a cancelled prompt
    CHANGES_PENDING = 2  # plan --detailed-exitcode found changes (and only that, as Terraform)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


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
class Note:
    """A second place that explains a diagnostic (e.g. where a YAML parser noticed the problem)."""

    message: str
    location: Location

    def __str__(self) -> str:
        return f"{self.location}: note: {self.message}"

    def to_json(self) -> dict:
        return {
            "message": self.message,
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
        }


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    location: Location | None = None
    address: str | None = None  # step address or Kind/name, when there is one
    notes: tuple[Note, ...] = ()  # printed on indented lines below the diagnostic

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.col, self.message)

    @property
    def headline(self) -> str:
        """The first line: ``file:line:col: severity: message``."""
        where = f"{self.location}: " if self.location else (f"{self.address}: " if self.address else "")
        return f"{where}{self.severity.value}: {self.message}"

    def __str__(self) -> str:
        return "\n".join([self.headline, *(f"  {note}" for note in self.notes)])

    def to_json(self) -> dict:
        out: dict = {"severity": self.severity.value, "message": self.message}
        if self.location:
            out.update(file=self.location.file, line=self.location.line, col=self.location.col)
        if self.address:
            out["address"] = self.address
        if self.notes:
            out["notes"] = [note.to_json() for note in self.notes]
        return out


def error(
    message: str,
    location: Location | None = None,
    address: str | None = None,
    notes: tuple[Note, ...] = (),
) -> Diagnostic:
    return Diagnostic(Severity.ERROR, message, location, address, notes)


def warning(message: str, location: Location | None = None, address: str | None = None) -> Diagnostic:
    return Diagnostic(Severity.WARNING, message, location, address)


class ImagepipeError(Exception):
    """Base of every error the CLI reports as one clear line (exit 1)."""

    exit_code = ExitCode.FAILURE


class SpecError(ImagepipeError):
    """The specs are invalid; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        first = next((d for d in self.diagnostics if d.is_error), None)
        super().__init__(str(first) if first else "invalid specs")


class SecretError(ImagepipeError):
    """A secret reference could not be resolved (missing env var, unreadable file)."""


class UsageError(ImagepipeError):
    """Bad command-line usage (exit 1, as every error: 2 means only "changes pending")."""


class TargetError(ImagepipeError):
    """The target (Azure or the emulator) could not be reached or authenticated."""


class StalePlanError(ImagepipeError):
    """A saved plan no longer matches the specs or the observed state."""


class ConflictError(ImagepipeError):
    """A resource with a wanted name exists but is not owned by this stack."""
