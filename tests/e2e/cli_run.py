"""Helpers shared by the end-to-end tests: run the CLI in a work folder, in-process (click's
test runner) where a child process adds nothing, as a subprocess where it does."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from imagepipe.cli.main import run

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    """What a command left: its exit code and its two streams (as a subprocess reports them)."""

    returncode: int
    stdout: str
    stderr: str


def invoke_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """The CLI in this process, in ``cwd``, with ``env`` added to the environment; no terminal."""
    # Through `run`, as `main` does: errors are mapped to exit codes there, not in the click group.
    with contextlib.chdir(cwd), CliRunner().isolation(env=env) as (stdout, stderr, _output):
        code = run(list(args))
        return Ran(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def workdir_with_specs(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(REPO / "specs", work / "specs")
    return work


def endpoint_env(emulator: Any) -> dict[str, str]:
    return dict(emulator.env())
