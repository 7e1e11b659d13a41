"""Run an `imagepipe` command in this process, its output kept in a log file, and time it.

In process, so the measured wall time is the command's work, not the interpreter's
start-up and imports (about a second, which at --speed 100 would be 100 simulated
seconds). The command line is exactly what a user types; only the process is shared.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagepipe.cli.main import run


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    exit_code: int
    wall_seconds: float
    cpu_seconds: float  # of this whole process (every thread) while the command ran
    log: Path

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def last_lines(self, count: int = 3) -> str:
        lines = [line for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines() if line]
        return " | ".join(lines[-count:])

    def describe_failure(self) -> str:
        return f"`imagepipe {' '.join(self.args)}` exited {self.exit_code}: {self.last_lines()}"


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (the CLI reads its defaults from them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_imagepipe(args: Sequence[str], env: Mapping[str, str], log: Path) -> CommandResult:
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open("w", encoding="utf-8") as sink,
        environment(env),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        started, cpu_started = time.perf_counter(), time.process_time()
        code = _invoke(args)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return CommandResult(tuple(args), code, wall, cpu, log)


def _invoke(args: Sequence[str]) -> int:
    """The command as `imagepipe` runs it: errors mapped to exit codes by the CLI's own `run`."""
    try:
        return run(list(args))
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
