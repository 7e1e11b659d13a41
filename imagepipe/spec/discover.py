"""Find the spec files under the paths a user gives, and group them into spec sets.

A folder that directly holds a Stack document roots a spec set with every YAML
file beneath it (the deepest such folder wins); the remaining files of all
paths form one spec set rooted at the first path that has any.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imagepipe.errors import Diagnostic, Location, UsageError, error
from imagepipe.spec.secrets import hidden_part, system_path, within
from imagepipe.spec.suggest import printable

SPEC_SUFFIXES = (".yaml", ".yml")


def display_path(path: Path) -> str:
    """The path relative to the current directory when it is below it, control characters escaped."""
    absolute = Path(os.path.abspath(path))
    try:
        shown = str(absolute.relative_to(Path.cwd()))
    except ValueError:
        shown = str(absolute)
    return printable(shown, limit=4096)  # a newline in a file name must not split a diagnostic


@dataclass
class Found:
    given: Path  # the path on the command line this file came from
    path: Path


@dataclass
class Discovery:
    files: list[Found] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def discover(paths: Sequence[Path]) -> Discovery:
    """Every spec file under ``paths``, each once; a missing path is a usage error."""
    out = Discovery()
    seen: set[str] = set()
    for given in paths:
        given = Path(given)
        if not os.path.lexists(given):
            raise UsageError(f"no such file or directory: {given}")
        try:
            is_dir = given.is_dir()
        except OSError as exc:
            out.diagnostics.append(error(f"cannot read: {exc.strerror}", Location(display_path(given))))
            continue
        real_root = os.path.realpath(given if is_dir else given.parent)
        if real_root == os.sep or system_path(real_root):  # checked before walking all of /
            message = "the spec folder resolves to / or a system folder; name the folder that holds the specs"
            out.diagnostics.append(error(message, Location(display_path(given))))
            continue
        problems_before = len(out.diagnostics)
        candidates = _walk(given, out.diagnostics) if is_dir else [given]
        root = given if is_dir else given.parent
        for path in candidates:
            key = os.path.realpath(path)
            problem = _escapes(key, root)
            if problem:
                out.diagnostics.append(error(problem, Location(display_path(path))))
                continue
            if key not in seen:
                seen.add(key)
                out.files.append(Found(given, path))
        if is_dir and not candidates and len(out.diagnostics) == problems_before:
            out.diagnostics.append(error("no *.yaml or *.yml spec files here", Location(display_path(given))))
    return out


def _escapes(real: str, root: Path) -> str | None:
    """Why a spec file, by its real path, is not one to read from the spec folder ``root``.

    A spec file that is (or lies under) a symlink to outside the folder the user
    named, or into a dot-named file or folder, is refused before it is read, so
    nothing of it is echoed.
    """
    real_root = os.path.realpath(root)
    if not within(real, real_root):
        return "spec file is a symlink to (or under a folder symlink to) a file outside the spec folder; not read"
    if hidden_part(os.path.relpath(real, real_root)):
        return "spec file is a symlink into a dot-named file or folder; not read"
    return None


def _walk(root: Path, diagnostics: list[Diagnostic]) -> list[Path]:
    """YAML files below ``root`` in a stable order; symlinked folders are followed once."""
    found: list[Path] = []
    visited: set[str] = set()

    def on_error(exc: OSError) -> None:
        where = display_path(Path(exc.filename)) if exc.filename else display_path(root)
        diagnostics.append(error(f"cannot read folder: {exc.strerror}", Location(where)))

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=on_error):
        real = os.path.realpath(folder)
        if real in visited:
            parent = os.path.realpath(Path(folder).parent)
            if parent == real or parent.startswith(real + os.sep):  # a link back to an ancestor
                message = f"symlink loop: this folder is {display_path(Path(real))} again"
                diagnostics.append(error(message, Location(display_path(Path(folder)))))
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(SPEC_SUFFIXES) and not name.startswith("."):
                found.append(Path(folder) / name)
    return found
