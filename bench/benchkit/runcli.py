"""Run an `imagepipe` command in this process, its output kept in a log file, and time it.

In process, so the measured wall time is the command's work, not the interpreter's
start-up and imports (about a second, which at --speed 100 would be 100 simulated
seconds). The command line is exactly what a user types; only the process is shared.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from imagepipe.cli.main import cli


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
    try:
        code = cli.main(args=list(args), prog_name="imagepipe", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        return 1
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    except Exception:  # the engine's own bug: keep it in the log, report one line
        traceback.print_exc()
        return 1
    return code if isinstance(code, int) else 0
