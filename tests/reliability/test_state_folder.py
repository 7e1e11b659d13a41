"""The local state folder through the CLI, as two CI jobs in one checkout would use it: one process
serves it at a time (a second `serve` is refused, an embedded run waits a bounded time, then is
refused, naming the holder), and imagepipe never writes through a symbolic link it did not make."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagepipe.cli.main import _internal_error

REPO = Path(__file__).resolve().parents[2]
SPECS = "specs/snapshot-restore"


def imagepipe(*args: str) -> list[str]:
    return [sys.executable, "-m", "imagepipe.cli.main", *args]


def run(work: Path, *args: str, wait: float = 60.0, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "IMAGEPIPE_STATE_WAIT": str(wait)}
    return subprocess.run(
        imagepipe(*args),
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    shutil.copytree(REPO / "specs", folder / "specs")
    return folder


class Serving:
    """`imagepipe emulator serve` in the background, on a free port, until stopped."""

    def __init__(self, work: Path, state: str) -> None:
        self.process = subprocess.Popen(
            imagepipe("emulator", "serve", "--port", "0", "--speed", "1000", "--state", state),
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # the export lines come once it listens
        assert first.startswith("export "), first + self.process.stderr.read()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)


@pytest.fixture
def serving(work: Path) -> Iterator[list[Serving]]:
    started: list[Serving] = []
    yield started
    for server in started:
        server.stop()


def test_a_second_serve_on_the_same_state_is_refused_naming_the_holder(
    work: Path, serving: list[Serving]
) -> None:
    first = Serving(work, ".imagepipe/emulator")
    serving.append(first)
    second = run(work, "emulator", "serve", "--port", "0", "--state", ".imagepipe/emulator", timeout=60)
    assert second.returncode == 1, second.stderr
    assert f"pid {first.process.pid}" in second.stderr
    assert "in use by `imagepipe emulator serve`" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.process.poll() is None  # the first one still serves


def test_an_embedded_run_waits_a_bounded_time_then_refuses(work: Path, serving: list[Serving]) -> None:
    holder = Serving(work, ".imagepipe")
    serving.append(holder)
    started = time.monotonic()
    result = run(work, "plan", SPECS, "--target", "local", wait=2.0)
    assert result.returncode == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 60
    assert "waiting up to 2 s for the state folder" in result.stderr
    assert f"pid {holder.process.pid}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_embedded_run_proceeds_once_the_holder_is_gone(work: Path, serving: list[Serving]) -> None:
    holder = Serving(work, ".imagepipe")
    serving.append(holder)
    waiting = subprocess.Popen(
        imagepipe("plan", SPECS, "--target", "local"),
        cwd=work,
        env={**os.environ, "IMAGEPIPE_STATE_WAIT": "60"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert waiting.stderr is not None
    line = waiting.stderr.readline()
    assert "waiting up to 60 s for the state folder" in line
    holder.stop()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, out + err
    assert "Traceback" not in err


# -- symbolic links ----------------------------------------------------------------------------


def outside_file(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "outside" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text("precious\n")
    return target


@pytest.mark.parametrize("name", ["ca.pem", "debug.log", "token.key", "emulator.sqlite"])
def test_a_committed_link_in_the_state_folder_is_refused_and_its_target_untouched(
    work: Path, tmp_path: Path, name: str
) -> None:
    target = outside_file(tmp_path, name)
    (work / ".imagepipe").mkdir()
    (work / ".imagepipe" / name).symlink_to(target)
    result = run(work, "plan", SPECS, "--target", "local")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "symbolic link" in result.stderr and name in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_text() == "precious\n"
    assert (work / ".imagepipe" / name).is_symlink()


def test_a_symlinked_state_folder_is_refused_and_left_empty(work: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-state"
    outside.mkdir()
    (work / ".imagepipe").symlink_to(outside, target_is_directory=True)
    result = run(work, "plan", SPECS, "--target", "local")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "symbolic link" in result.stderr
    assert list(outside.iterdir()) == []


def test_serve_refuses_a_symlinked_state_folder(work: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-state"
    outside.mkdir()
    (work / ".imagepipe").symlink_to(outside, target_is_directory=True)
    result = run(work, "emulator", "serve", "--port", "0", timeout=60)
    assert result.returncode == 1, result.stderr
    assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert list(outside.iterdir()) == []


def test_the_debug_log_is_never_written_through_a_link(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An internal error with a committed `.imagepipe/debug.log` link: exit 1, the message says
    no log was written, and the link's target is untouched."""
    target = outside_file(tmp_path, "debug.log")
    (work / ".imagepipe").mkdir()
    (work / ".imagepipe" / "debug.log").symlink_to(target)
    monkeypatch.chdir(work)
    assert _internal_error(RuntimeError("boom"), show_traceback=False) == 1
    assert "no debug log written" in capsys.readouterr().err
    assert target.read_text() == "precious\n"
