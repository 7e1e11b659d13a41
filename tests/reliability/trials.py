"""One trial each of the full runs (scripts/fault_matrix.py, kill_matrix.py, concurrent_runs.py):
disturb a run, then check that the target converged without damage. Each returns a result row."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from faults import schedule
from harness import EmulatorProcess, Expected, copy_specs, damage, kill_after, run_cli, start_cli


@dataclass
class Row:
    name: str
    ok: bool
    detail: str = ""
    retries: int = 0
    seconds: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


def fresh(em: EmulatorProcess, work: Path) -> None:
    """An empty subscription and an empty work folder for the next trial."""
    em.admin("reset", {})
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)


def converge_check(em: EmulatorProcess, folder: Path, work: Path, expected: Expected) -> list[str]:
    """One more apply, then an empty plan and no damage; the problems found."""
    problems = []
    rerun = run_cli(em, "apply", str(folder), "--yes", cwd=work)
    if rerun.returncode != 0:
        problems.append(f"rerun exit {rerun.returncode}: {_last_error(rerun.stdout + rerun.stderr)}")
    planned = run_cli(em, "plan", str(folder), "--detailed-exitcode", cwd=work)
    if planned.returncode != 0:
        problems.append(f"plan after rerun exit {planned.returncode}")
    return problems + damage(em, expected)


def _last_error(text: str) -> str:
    lines = [line for line in text.splitlines() if "error" in line.lower() or "FAILED" in line]
    return (lines[-1] if lines else text.strip().splitlines()[-1] if text.strip() else "")[:300]


def fault_trial(
    em: EmulatorProcess, specs: str, kind: str, rate: float, seed: int, work: Path, expected: Expected
) -> Row:
    fresh(em, work)
    folder = copy_specs(specs, work)
    em.faults(schedule(kind, rate, seed))
    started = time.monotonic()
    applied = run_cli(em, "apply", str(folder), "--yes", cwd=work)
    seconds = time.monotonic() - started
    em.faults([])
    retries = applied.stdout.count(": retry ") + applied.stderr.count("retrying https://")
    problems = (
        [] if applied.returncode == 0 else [f"apply exit {applied.returncode}: {_last_error(applied.stderr)}"]
    )
    planned = run_cli(em, "plan", str(folder), "--detailed-exitcode", cwd=work)
    if planned.returncode != 0:
        problems.append(f"plan exit {planned.returncode}")
    problems += damage(em, expected)
    name = f"{specs} {kind} {rate:.0%} seed {seed}"
    return Row(name, not problems, "; ".join(problems), retries, seconds)


def fatal_trial(
    em: EmulatorProcess,
    specs: str,
    operation: str,
    code: str,
    failing: str,
    independent: str,
    work: Path,
    expected: Expected,
) -> Row:
    fresh(em, work)
    folder = copy_specs(specs, work)
    em.faults([{"operation": operation, "lro_error": code}])
    started = time.monotonic()
    applied = run_cli(em, "apply", str(folder), "--yes", cwd=work)
    seconds = time.monotonic() - started
    em.faults([])
    errors = [line for line in applied.stderr.splitlines() if line.startswith("error:")]
    problems = []
    if applied.returncode != 1:
        problems.append(f"exit {applied.returncode}, expected 1")
    if len(errors) != 1 or failing not in errors[0] or code not in errors[0]:
        problems.append(f"errors reported: {errors}")
    if f"{independent}: done" not in applied.stdout:
        problems.append(f"the independent {independent} did not finish")
    if "Traceback" in applied.stdout + applied.stderr:
        problems.append("a traceback was printed")
    problems += converge_check(em, folder, work, expected)
    return Row(
        f"{specs} {operation} {code}", not problems, "; ".join(problems) or errors[0][:160], 0, seconds
    )


def kill_trial(
    em: EmulatorProcess, specs: str, at: float, restart_emulator: bool, work: Path, expected: Expected
) -> Row:
    """SIGKILL apply (or kill and restart the emulator) ``at`` seconds into the run."""
    fresh(em, work)
    folder = copy_specs(specs, work)
    log = work / "disturbed.log"
    proc = start_cli(em, "apply", str(folder), "--yes", cwd=work, log=log)
    what = "emulator restart" if restart_emulator else "SIGKILL apply"
    if restart_emulator:
        try:
            proc.wait(timeout=at)
            landed = False
        except subprocess.TimeoutExpired:
            landed = True
        where = _last_step(log)  # where the run was when ARM went away
        if landed:
            em.restart()
            proc.wait(timeout=900)
    else:
        landed = kill_after(proc, at)
        where = _last_step(log)
    problems = converge_check(em, folder, work, expected)
    name = f"{specs} {what} at {at:.2f}s"
    detail = "; ".join(problems) or (f"landed after: {where}" if landed else "the run had finished")
    return Row(name, not problems, detail, extra={"landed": str(landed)})


def _last_step(log: Path) -> str:
    steps = [line for line in log.read_text().splitlines() if line[:2].isdigit()]
    return steps[-1][9:90] if steps else "before the first step (planning)"


def race_same_stack(em: EmulatorProcess, specs: str, work: Path, expected: Expected) -> Row:
    """Two applies of one stack at once: each succeeds or says the other holds the stack."""
    fresh(em, work)
    folder = copy_specs(specs, work)
    procs = [
        start_cli(em, "apply", str(folder), "--yes", cwd=work, log=work / f"run{i}.log") for i in range(2)
    ]
    codes = [p.wait(timeout=900) for p in procs]
    logs = [(work / f"run{i}.log").read_text() for i in range(2)]
    problems = []
    for code, log in zip(codes, logs, strict=True):
        if code != 0 and not (code == 1 and "another run holds stack" in log):
            problems.append(f"exit {code}: {_last_error(log)}")
    if 0 not in codes:
        problems.append("neither run succeeded")
    problems += converge_check(em, folder, work, expected)
    held = sum("another run holds stack" in log for log in logs)
    return Row(
        f"{specs}: two applies at once",
        not problems,
        "; ".join(problems) or f"exit codes {codes}, refused {held}",
    )


def race_apply_destroy(em: EmulatorProcess, work: Path) -> Row:
    """Destroy of one stack while another stack applies in the same resource group."""
    fresh(em, work)
    one = copy_specs("learn-exercise", work / "one", {"name: learn-exercise": "name: stack-one"})
    two = copy_specs(
        "learn-exercise",
        work / "two",
        {
            "name: learn-exercise": "name: stack-two",
            "myVM": "twoVM",
            "myImage": "twoImage",
            "learn-vnet": "two-vnet",
            "10.0.0.0/24": "10.2.0.0/24",
        },
    )
    problems = []
    if run_cli(em, "apply", str(one), "--yes", cwd=work).returncode != 0:
        problems.append("setup apply of stack-one failed")
    destroying = start_cli(em, "destroy", str(one), "--yes", cwd=work, log=work / "destroy.log")
    applying = start_cli(em, "apply", str(two), "--yes", cwd=work, log=work / "apply.log")
    codes = (destroying.wait(timeout=900), applying.wait(timeout=900))
    if codes != (0, 0):
        problems.append(
            f"exit codes destroy/apply {codes}: {_last_error((work / 'destroy.log').read_text())} "
            f"{_last_error((work / 'apply.log').read_text())}"
        )
    planned = run_cli(em, "plan", str(two), "--detailed-exitcode", cwd=work)
    if planned.returncode != 0:
        problems.append(f"stack-two is not whole after the race (plan exit {planned.returncode})")
    left = run_cli(em, "plan", str(one), "--detailed-exitcode", cwd=work)
    if "to delete" in left.stdout and "0 to delete" not in left.stdout:
        problems.append("stack-one still owns resources")
    return Row(
        "destroy stack-one while apply stack-two, same group",
        not problems,
        "; ".join(problems) or "both exit 0",
    )
