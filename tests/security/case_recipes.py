"""Build a case folder's files that git cannot hold, from its ``recipe.json``.

Some hostile inputs (symlink loops, FIFOs, unreadable files, multi-megabyte
files, names with control characters) cannot live in git. A case folder then
carries a small recipe, and every runner materializes the case in a temporary
folder before validating it:

    {"files": {"name": "text"}, "repeat": {"big.yaml": {"head": "", "line": "x\\n", "times": 9, "tail": ""}},
     "symlinks": {"link.yaml": "target"}, "fifos": ["pipe.yaml"], "modes": {"f.yaml": "000"},
     "unprivileged": true}

``unprivileged`` marks a case whose files are unreadable by mode: root reads
them anyway, so as root such a case is validated in a child process that has
dropped its capabilities.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECIPE = "recipe.json"
EXPECTED = "expected.txt"
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAPBSET_DROP = 24


def recipe(case: Path) -> dict[str, Any]:
    path = case / RECIPE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def needs_other_user(case: Path) -> bool:
    """True when the case's unreadable files would be readable to us (we are root)."""
    return bool(recipe(case).get("unprivileged")) and os.geteuid() == 0


def materialize(case: Path, dest: Path) -> Path:
    """A copy of ``case`` in ``dest`` with its recipe applied; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in sorted(case.iterdir()):
        if item.name in (RECIPE, EXPECTED):
            continue
        target = dest / item.name
        if item.is_dir():
            shutil.copytree(item, target, symlinks=True)
        else:
            shutil.copy2(item, target, follow_symlinks=False)
    steps = recipe(case)
    for name, text in steps.get("files", {}).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text, encoding="utf-8")
    for name, spec in steps.get("repeat", {}).items():
        with open(dest / name, "w", encoding="utf-8") as fh:
            fh.write(spec.get("head", ""))
            fh.write(spec["line"] * int(spec["times"]))
            fh.write(spec.get("tail", ""))
    for name, target in steps.get("symlinks", {}).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, dest / name)
    for name in steps.get("fifos", []):
        os.mkfifo(dest / name)
    # Modes last: a folder made unreadable cannot be filled afterwards.
    for name, mode in sorted(steps.get("modes", {}).items(), key=lambda kv: -len(kv[0])):
        os.chmod(dest / name, int(mode, 8))
    return dest


def cleanup_modes(case: Path, dest: Path) -> None:
    """Give back the permissions a recipe took, so the temporary folder can be removed."""
    for name in recipe(case).get("modes", {}):
        path = dest / name
        if path.exists() or path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def drop_capabilities() -> None:
    """In a child process: give up root's power to read any file, so file modes apply.

    For ``preexec_fn``: the process keeps uid 0 but loses every capability
    (capset(2) with empty sets), as an unprivileged user would be.
    """
    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    # Empty the bounding set first: otherwise exec(2) gives uid 0 every capability back.
    for capability in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    header = Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


MEMORY_LIMIT = 1 << 30  # RLIMIT_AS of each validate run: 1 GiB
# A diagnostic, or an indented note under it (a second place, e.g. where YAML noticed an error).
LOCATED = re.compile(r"^(\S.*:\d+:\d+: (error|warning)|  \S.*:\d+:\d+: note): \S.*$")


@dataclass
class CaseRun:
    """One case validated by the CLI in a child process."""

    name: str
    returncode: int | None  # None: killed by the timeout
    stdout: str
    stderr: str
    expected: list[str]

    def problems(self) -> list[str]:
        """Everything wrong with this run; empty when the case was refused cleanly."""
        out: list[str] = []
        has_errors = any(": error: " in line for line in self.expected)
        if self.returncode is None:
            return ["no answer within the timeout"]
        if self.returncode != (1 if has_errors else 0):
            out.append(f"exit {self.returncode}")
        if "Traceback" in self.stderr or "internal error" in self.stderr:
            out.append("traceback or internal error on stderr")
        lines = self.stdout.splitlines()
        if lines != self.expected:
            out.append("diagnostics differ from expected.txt")
        out += [f"not a located one-line message: {line!r}" for line in lines if not LOCATED.match(line)]
        return out


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _limit_memory_without_capabilities() -> None:
    _limit_memory()
    drop_capabilities()


def run_case_cli(case: Path, scratch: Path, timeout: float = 60) -> CaseRun:
    """``imagepipe validate .`` on a materialized copy of ``case``, memory-capped and timed out."""
    work = materialize(case, scratch / case.name)
    expected = (case / EXPECTED).read_text(encoding="utf-8").splitlines()
    limit = _limit_memory_without_capabilities if needs_other_user(case) else _limit_memory
    try:
        done = subprocess.run(
            [sys.executable, "-m", "imagepipe.cli.main", "validate", "."],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
            stdin=subprocess.DEVNULL,
        )
        return CaseRun(case.name, done.returncode, done.stdout, done.stderr, expected)
    except subprocess.TimeoutExpired:
        return CaseRun(case.name, None, "", "", expected)
    finally:
        cleanup_modes(case, work)
