"""SIGKILL `apply` (and the emulator) in the middle of the work; one more apply converges with
nothing twice, nothing left over, and preserved sources exactly as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    EmulatorProcess,
    copy_specs,
    damage,
    kill_mid_operation,
    not_yet_made,
    run_cli,
    start_cli,
    wait_for_output,
    wait_in_flight,
)

# Slow enough that an operation is still running when the kill lands.
KILL_SPEED = 150.0

# A few seeded kill points inside the flows that learn-exercise's own resume tests
# (tests/integration/test_engine_resume.py) do not cover; scripts/kill_matrix.py kills at random moments.
# The fleet's points run in the slow suite (the fleet's gallery replication takes long).
KILL_POINTS = [
    pytest.param("fleet", "+ Capture/web-image/temp-vm:", marks=pytest.mark.slow),
    pytest.param("fleet", "> Capture/web-image/cleanup:", marks=pytest.mark.slow),
    ("snapshot-restore", "Capture/app-snapshot/snapshots:"),
]


@pytest.fixture
def slow_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    em = EmulatorProcess(tmp_path / "emulator", speed=KILL_SPEED).start()
    yield em
    em.stop()


def converged(em: EmulatorProcess, folder: Path, cwd: Path) -> None:
    rerun = run_cli(em, "apply", str(folder), "--yes", cwd=cwd)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    planned = run_cli(em, "plan", str(folder), "--detailed-exitcode", cwd=cwd)
    assert planned.returncode == 0, planned.stdout


@pytest.mark.parametrize(("specs", "trigger"), KILL_POINTS)
def test_sigkill_of_apply_then_rerun_converges(
    tmp_path: Path, slow_emulator: EmulatorProcess, reference, specs: str, trigger: str
) -> None:
    expected = reference(specs)
    folder = copy_specs(specs, tmp_path)
    log = tmp_path / "killed.log"
    proc = start_cli(slow_emulator, "apply", str(folder), "--yes", cwd=tmp_path, log=log)
    running = kill_mid_operation(slow_emulator, proc, log, trigger)
    assert running, f"apply ended before an operation after {trigger!r}:\n{log.read_text()[-3000:]}"
    assert not_yet_made(slow_emulator, expected), "the kill landed after the stack was complete"

    converged(slow_emulator, folder, tmp_path)
    assert damage(slow_emulator, expected) == []


@pytest.mark.slow
def test_a_restart_of_the_emulator_mid_run_then_rerun_converges(
    tmp_path: Path, slow_emulator: EmulatorProcess, reference
) -> None:
    expected = reference("fleet")
    folder = copy_specs("fleet", tmp_path)
    log = tmp_path / "interrupted.log"
    proc = start_cli(slow_emulator, "apply", str(folder), "--yes", cwd=tmp_path, log=log)
    assert wait_for_output(proc, log, "Capture/web-image/temp-disks:"), log.read_text()[-3000:]
    running = wait_in_flight(slow_emulator, proc)
    assert running and proc.poll() is None, f"apply ended before the restart:\n{log.read_text()[-3000:]}"
    slow_emulator.restart()  # SIGKILL, then the same state on the same port
    proc.wait(timeout=600)  # it may finish or fail; either way it must not do damage

    converged(slow_emulator, folder, tmp_path)
    assert damage(slow_emulator, expected) == []
