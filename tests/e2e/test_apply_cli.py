"""apply on the command line: confirmation, saved plans, stale plans, failures."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from cli_run import endpoint_env, run_cli, workdir_with_specs

from imagepipe.emulator import start_emulator


def test_apply_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    result = run_cli("apply", "specs/learn-exercise", cwd=work)
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert not (work / ".imagepipe").exists() or "Traceback" not in result.stderr


def test_a_saved_plan_applies_exactly_and_a_stale_one_is_refused(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        saved = run_cli("plan", "specs/learn-exercise", "--out", "plan.json", cwd=work, env=env)
        assert saved.returncode == 0, saved.stderr
        plan = json.loads((work / "plan.json").read_text())
        assert plan["stack"] == "learn-exercise" and plan["summary"]["create"] == 6
        assert "ssh-ed25519" not in (work / "plan.json").read_text()

        stale_copy = (work / "plan.json").read_text()
        applied = run_cli("apply", "plan.json", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout

        (work / "stale.json").write_text(stale_copy)
        refused = run_cli("apply", "stale.json", cwd=work, env=env)
        assert refused.returncode == 1
        assert "stale" in refused.stderr and "Traceback" not in refused.stderr


def test_a_failing_step_reports_one_root_cause_and_exits_1(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        requests.post(
            em.url("/_emulator/faults"),
            json=[{"operation": "Images_CreateOrUpdate", "lro_error": "OperationNotAllowed"}],
            verify=str(em.ca_file),
            timeout=30,
        ).raise_for_status()
        result = run_cli("apply", "specs/learn-exercise", "--yes", cwd=work, env=endpoint_env(em))
        assert result.returncode == 1
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert "Capture/my-image/image" in errors[0] and "OperationNotAllowed" in errors[0]
        assert "Traceback" not in result.stderr


def test_apply_plan_destroy_on_the_embedded_emulator(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    applied = run_cli("apply", "specs/learn-exercise", "--yes", cwd=work)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "Plan: 6 to create, 0 to change, 0 to delete, 4 actions." in applied.stdout
    assert "created" in applied.stdout and "failed" in applied.stdout  # the summary table
    assert (work / ".imagepipe").is_dir()

    again = run_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout

    destroyed = run_cli("destroy", "specs/learn-exercise", "--yes", cwd=work)
    assert destroyed.returncode == 0, destroyed.stderr + destroyed.stdout

    after = run_cli("plan", "specs/learn-exercise", "--detailed-exitcode", "-o", "json", cwd=work)
    assert after.returncode == 2
    assert json.loads(after.stdout)["summary"]["create"] == 6


def test_second_plan_makes_no_write_request_on_a_running_emulator(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=True) as em:
        env = endpoint_env(em)
        applied = run_cli("apply", "specs/learn-exercise", "--yes", "-o", "json", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr
        events = [json.loads(line) for line in applied.stdout.splitlines()]
        assert events[-1]["event"] == "summary" and events[-1]["failed"] == 0

        def writes() -> int:
            stats = requests.get(em.url("/_emulator/stats"), verify=str(em.ca_file), timeout=30).json()
            return sum(n for m, n in stats["requests"].items() if m in ("PUT", "POST", "PATCH", "DELETE"))

        before = writes()
        planned = run_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert writes() == before
