"""SIGKILL `apply` (and the emulator) in the middle of the work; one more apply converges with
nothing twice, nothing left over, and preserved sources exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import EmulatorProcess, copy_specs, damage, kill_when, run_cli, start_cli

# Slow enough that an operation is still running when the kill lands.
KILL_SPEED = 150.0

# A few seeded kill points inside the flows that learn-exercise's own resume tests
# (tests/integration/test_engine_resume.py) do not cover; scripts/kill_matrix.py kills at random moments.
KILL_POINTS = [
    ("fleet", "+ Capture/web-image/temp-vm:", 0.05),
    ("fleet", "> Capture/web-image/cleanup:", 0.02),
    ("snapshot-restore", "Capture/app-snapshot/snapshots:", 0.05),
]


@pytest.fixture
def slow_emulator(tmp_path: Path) -> EmulatorProcess:
    em = EmulatorProcess(tmp_path / "emulator", speed=KILL_SPEED).start()
    yield em
    em.stop()


def converged(em: EmulatorProcess, folder: Path, cwd: Path) -> None:
    rerun = run_cli(em, "apply", str(folder), "--yes", cwd=cwd)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    planned = run_cli(em, "plan", str(folder), "--detailed-exitcode", cwd=cwd)
    assert planned.returncode == 0, planned.stdout


@pytest.mark.parametrize(("specs", "trigger", "delay"), KILL_POINTS)
def test_sigkill_of_apply_then_rerun_converges(
    tmp_path: Path, slow_emulator: EmulatorProcess, reference, specs: str, trigger: str, delay: float
) -> None:
    expected = reference(specs)
    folder = copy_specs(specs, tmp_path)
    log = tmp_path / "killed.log"
    proc = start_cli(slow_emulator, "apply", str(folder), "--yes", cwd=tmp_path, log=log)
    assert kill_when(proc, log, trigger, delay), f"apply ended before {trigger!r}:\n{log.read_text()[-3000:]}"

    converged(slow_emulator, folder, tmp_path)
    assert damage(slow_emulator, expected) == []


def test_a_restart_of_the_emulator_mid_run_then_rerun_converges(
    tmp_path: Path, slow_emulator: EmulatorProcess, reference
) -> None:
    expected = reference("fleet")
    folder = copy_specs("fleet", tmp_path)
    log = tmp_path / "interrupted.log"
    proc = start_cli(slow_emulator, "apply", str(folder), "--yes", cwd=tmp_path, log=log)
    while "Capture/web-image/temp-disks:" not in log.read_text():
        assert proc.poll() is None, log.read_text()[-3000:]
    slow_emulator.restart()  # SIGKILL, then the same state on the same port
    proc.wait(timeout=600)  # it may finish or fail; either way it must not do damage

    converged(slow_emulator, folder, tmp_path)
    assert damage(slow_emulator, expected) == []
