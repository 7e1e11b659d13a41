"""Under transient faults apply converges on its own; under a fatal fault one branch stops with
one clear error, the others finish, exit 1, and the next apply (fault gone) converges."""

from __future__ import annotations

from pathlib import Path

import pytest
from faults import FATAL_CASES, schedule
from harness import EmulatorProcess, copy_specs, damage, run_cli

# A handful of seeded combinations; scripts/fault_matrix.py runs them all. One request-level and
# one operation-level schedule run by default, the others in the slow suite.
RETRYABLE_CASES = [
    pytest.param("learn-exercise", "429-no-retry-after", 0.2, 12, marks=pytest.mark.slow),
    ("learn-exercise", "5xx-mixed", 0.2, 13),
    pytest.param("learn-exercise", "AllocationFailed", 0.2, 14, marks=pytest.mark.slow),
    pytest.param("snapshot-restore", "AnotherOperationInProgress", 0.2, 15, marks=pytest.mark.slow),
    pytest.param("snapshot-restore", "InternalExecutionError", 0.2, 16, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("specs", "kind", "rate", "seed"), RETRYABLE_CASES)
def test_apply_converges_under_transient_faults(
    tmp_path: Path, emulator: EmulatorProcess, reference, specs: str, kind: str, rate: float, seed: int
) -> None:
    expected = reference(specs)
    folder = copy_specs(specs, tmp_path)
    emulator.faults(schedule(kind, rate, seed))

    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    if kind == "5xx-mixed":  # request-level retries (azure-core) are logged
        assert "retrying https://" in applied.stderr and "status 50" in applied.stderr

    emulator.faults([])
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout
    assert damage(emulator, expected) == []


@pytest.mark.slow  # the step's backoff between its 5 retries is 31 s of wall clock
def test_step_retries_are_logged_and_bounded(tmp_path: Path, emulator: EmulatorProcess) -> None:
    folder = copy_specs("learn-exercise", tmp_path)
    # Every image create fails with a retryable code: the step gives up after its bounded retries.
    emulator.faults([{"operation": "Images_CreateOrUpdate", "lro_error": "InternalExecutionError"}])
    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)

    assert applied.returncode == 1
    retries = [line for line in applied.stdout.splitlines() if "Capture/my-image/image: retry" in line]
    assert len(retries) == 5, applied.stdout
    assert "retry 5/5" in retries[-1] and "InternalExecutionError" in retries[-1]
    errors = [line for line in applied.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "InternalExecutionError" in errors[0]

    emulator.faults([])
    rerun = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path).returncode == 0


# Two of them in CI (the second in the slow suite); scripts/fault_matrix.py runs every fatal case.
CI_FATAL_CASES = [FATAL_CASES[0], pytest.param(*FATAL_CASES[2], marks=pytest.mark.slow)]


@pytest.mark.parametrize(("specs", "operation", "code", "failing", "independent"), CI_FATAL_CASES)
def test_a_fatal_error_stops_its_branch_with_one_clear_error(
    tmp_path: Path,
    emulator: EmulatorProcess,
    reference,
    specs: str,
    operation: str,
    code: str,
    failing: str,
    independent: str,
) -> None:
    expected = reference(specs)
    folder = copy_specs(specs, tmp_path)
    emulator.faults([{"operation": operation, "lro_error": code}])

    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    assert applied.returncode == 1
    errors = [line for line in applied.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, applied.stderr
    assert failing in errors[0] and code in errors[0]
    assert "Injected" in errors[0]  # Azure's own message is passed on
    assert "Traceback" not in applied.stdout + applied.stderr
    assert f"{independent}: done" in applied.stdout
    assert f"{failing}: FAILED" in applied.stdout
    assert "retry" not in applied.stdout  # a fatal code is not retried

    emulator.faults([])
    rerun = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout
    assert damage(emulator, expected) == []
