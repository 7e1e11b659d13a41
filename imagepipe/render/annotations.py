"""Diagnostics as CI annotations: GitHub Actions workflow commands and Azure DevOps logging
commands, so a reviewer sees the error on the line of the spec that has it.

- GitHub (``GITHUB_ACTIONS=true``): ``::error file=F,line=L,col=C,title=T::message``; GitHub
  shows at most 10 error and 10 warning annotations per step, so at most 10 of each are
  printed, then one notice that counts the rest (they are all in the log).
- Azure DevOps (``TF_BUILD=True``): ``##vso[task.logissue type=error;sourcepath=F;linenumber=L;
  columnnumber=C]message``.

Paths are relative to the repository root (``GITHUB_WORKSPACE``, ``BUILD_SOURCESDIRECTORY``,
else the current folder), as both services expect. Every value is escaped as the services'
own toolkits do, so a message can never end the command early or start another one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from imagepipe.errors import Diagnostic, Severity
from imagepipe.render.safe import printable

MODES = ("auto", "github", "azure-devops", "none")
PER_KIND = 10  # GitHub shows 10 error and 10 warning annotations of a step; the rest are dropped
TITLE = "imagepipe"


def detect(mode: str, env: Mapping[str, str] | None = None) -> str:
    """The annotation style ``auto`` means in this environment: github, azure-devops or none."""
    env = os.environ if env is None else env
    if mode != "auto":
        return mode
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        return "github"
    if env.get("TF_BUILD", "").lower() == "true":
        return "azure-devops"
    return "none"


def repository_root(style: str, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    variable = {"github": "GITHUB_WORKSPACE", "azure-devops": "BUILD_SOURCESDIRECTORY"}.get(style, "")
    root = env.get(variable)
    return Path(root) if root else Path.cwd()


def relative_path(file: str, root: Path) -> str:
    """``file`` relative to the repository root, with forward slashes; as given when outside it."""
    path = Path(file)
    try:
        absolute = path if path.is_absolute() else Path.cwd() / path
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


# -- GitHub --------------------------------------------------------------------------------


def _github_data(text: str) -> str:
    # As @actions/core's escapeData: the message ends at the line's end.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    # As @actions/core's escapeProperty: ',' separates properties, ':' ends them.
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def _no_legacy_command(text: str) -> str:
    # The runner also reads the legacy "##[command]" anywhere in a line: never let one form.
    return re.sub(r"##(?=\[|vso\[)", "#\u200b#", text)


def github_command(kind: str, message: str, file: str | None, line: int, col: int) -> str:
    properties = []
    if file:
        properties += [f"file={_github_property(file)}", f"line={line}", f"col={col}"]
    properties.append(f"title={_github_property(TITLE)}")
    return f"::{kind} {','.join(properties)}::{_github_data(_no_legacy_command(message))}"


# -- Azure DevOps --------------------------------------------------------------------------


def _vso(text: str) -> str:
    # The agent's percent-encoding: ';' separates properties, ']' ends them.
    return (
        text.replace("%", "%25")
        .replace(";", "%3B")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace("]", "%5D")
    )


def azure_devops_command(kind: str, message: str, file: str | None, line: int, col: int) -> str:
    properties = [f"type={kind}"]
    if file:
        properties += [f"sourcepath={_vso(file)}", f"linenumber={line}", f"columnnumber={col}"]
    return f"##vso[task.logissue {';'.join(properties)}]{_vso(_no_legacy_command(message))}"


# -- both ----------------------------------------------------------------------------------


def _message(diagnostic: Diagnostic) -> str:
    text = printable(diagnostic.message)
    notes = [f"{printable(n.location)}: note: {printable(n.message)}" for n in diagnostic.notes]
    where = f"{diagnostic.address}: " if diagnostic.address and diagnostic.location is None else ""
    # A real newline inside the message: escaped by the command, shown by the service.
    return "\n".join([where + text, *notes])


def annotation_lines(
    diagnostics: Iterable[Diagnostic], style: str, env: Mapping[str, str] | None = None
) -> list[str]:
    """One command per diagnostic (at most 10 of each severity on GitHub, then a count)."""
    if style not in ("github", "azure-devops"):
        return []
    root = repository_root(style, env)
    command = github_command if style == "github" else azure_devops_command
    lines: list[str] = []
    shown = {Severity.ERROR: 0, Severity.WARNING: 0}
    left = {Severity.ERROR: 0, Severity.WARNING: 0}
    for diagnostic in diagnostics:
        if style == "github" and shown[diagnostic.severity] >= PER_KIND:
            left[diagnostic.severity] += 1
            continue
        shown[diagnostic.severity] += 1
        location = diagnostic.location
        file = relative_path(location.file, root) if location and location.file else None
        line, col = (location.line, location.col) if location else (1, 1)
        lines.append(command(diagnostic.severity.value, _message(diagnostic), file, line, col))
    more = [
        f"{count} more {'errors' if severity is Severity.ERROR else 'warnings'}"
        for severity, count in left.items()
        if count
    ]
    if more:  # a notice: its own budget of 10, so the count is never dropped itself
        lines.append(command("notice", f"{' and '.join(more)} not annotated: see the log", None, 1, 1))
    return lines
