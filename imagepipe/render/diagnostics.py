"""Diagnostics for people (``file:line:col: severity: message``) and for scripts (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from imagepipe.errors import Diagnostic, Severity
from imagepipe.spec.discover import display_path
from imagepipe.spec.loader import LoadResult

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow"}


def diagnostic_line(diagnostic: Diagnostic, colour: bool = False) -> str:
    """The first line a diagnostic prints as; the severity is coloured on a terminal."""
    text = diagnostic.headline
    if not colour:
        return text
    label = f"{diagnostic.severity.value}:"
    return text.replace(label, click.style(label, fg=_COLOURS[diagnostic.severity], bold=True), 1)


def diagnostic_text(diagnostic: Diagnostic, colour: bool = False) -> str:
    """The diagnostic's line, then one indented ``file:line:col: note: ...`` line per note."""
    lines = [diagnostic_line(diagnostic, colour)]
    for note in diagnostic.notes:
        label = click.style("note:", bold=True) if colour else "note:"
        lines.append(f"  {note.location}: {label} {note.message}")
    return "\n".join(lines)


def all_diagnostics(results: Sequence[LoadResult]) -> list[Diagnostic]:
    return sorted((d for r in results for d in r.diagnostics), key=Diagnostic.sort_key)


def summary(results: Sequence[LoadResult]) -> str:
    diagnostics = all_diagnostics(results)
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    sets = len(results)
    documents = sum(r.documents for r in results)
    what = f"{sets} spec set{'s' if sets != 1 else ''}, {documents} document{'s' if documents != 1 else ''}"
    counts = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
    verdict = "invalid" if errors else "valid"
    return f"{verdict}: {what}; {counts}"


def validation_json(results: Sequence[LoadResult]) -> str:
    """``{"valid": bool, "diagnostics": [...], "stacks": [...]}`` as one JSON object."""
    payload: dict[str, Any] = {
        "valid": all(r.valid for r in results),
        "diagnostics": [d.to_json() for d in all_diagnostics(results)],
        "stacks": [
            {
                "name": r.name,
                "root": display_path(r.root),
                "valid": r.valid,
                "documents": sorted(r.specset.documents) if r.specset else [],
                "files": [display_path(f) for f in r.files],
            }
            for r in results
        ],
    }
    return json.dumps(payload, indent=2)
