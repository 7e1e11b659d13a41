"""Helpers shared by the end-to-end tests: run the CLI in a work folder, in-process (click's
test runner) where a child process adds nothing, as a subprocess where it does."""

from __future__ import annotations

import contextlib
import os
import pty
import select
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


def run_cli_on_terminal(
    *args: str, cwd: Path, answer: str, env: dict[str, str] | None = None, timeout: float = 120
) -> Ran:
    """The CLI as a subprocess on a pseudo-terminal, typing ``answer`` at its first "Do you want to"
    prompt. ``stdout`` holds all the terminal showed (stderr included: Python writes the prompt of
    ``input()`` there)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagepipe.cli.main", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    shown, answered = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise TimeoutError(shown.decode(errors="replace"))
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not answered and b"Do you want to" in shown:
                os.write(master, answer.encode() + b"\n")
                answered = True
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return Ran(proc.returncode, shown.decode(errors="replace"), "")


def workdir_with_specs(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(REPO / "specs", work / "specs")
    return work


def endpoint_env(emulator: Any) -> dict[str, str]:
    return dict(emulator.env())
