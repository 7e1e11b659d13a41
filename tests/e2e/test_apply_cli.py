"""apply on the command line: confirmation, saved plans, stale plans, failures."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from cli_run import endpoint_env, invoke_cli, run_cli, workdir_with_specs

from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator

# What the Learn exercise makes, by step (as apply names them) and by resource.
LEARN_CREATES = [
    "SourceVM/source/vm",
    "Capture/my-image/image",
    "Deployment/new-vm/vm[0]",
]
LEARN_ACTIONS = ["Capture/my-image/deprovision", "Capture/my-image/generalize"]
LEARN_VMS = {"myVM", "myVMFromImage"}


def summary_row(stdout: str) -> dict[str, str]:
    """The figures of apply's summary table, by column."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "created" in line and "failed" in line)
    columns = [cell.strip() for cell in lines[header].strip("┃│ ").replace("┃", "│").split("│")]
    row = next(line for line in lines[header + 1 :] if any(ch.isdigit() for ch in line))
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    return dict(zip(columns, cells, strict=True))


def test_apply_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    result = run_cli("apply", "specs/learn-exercise", cwd=work)
    assert result.returncode == 1
    assert "--yes" in result.stderr
    assert not (work / ".imagepipe").exists() and "Traceback" not in result.stderr


def test_a_saved_plan_applies_exactly_and_a_stale_one_is_refused(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        saved = invoke_cli("plan", "specs/learn-exercise", "--out", "plan.json", cwd=work, env=env)
        assert saved.returncode == 0, saved.stderr
        plan = json.loads((work / "plan.json").read_text())
        assert plan["stack"] == "learn-exercise" and plan["summary"]["create"] == 6
        assert "ssh-ed25519" not in (work / "plan.json").read_text()

        stale_copy = (work / "plan.json").read_text()
        applied = invoke_cli("apply", "plan.json", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        # It did what the saved plan said, and says so step by step.
        for address in LEARN_CREATES + LEARN_ACTIONS:
            assert f"{address}: done" in applied.stdout, applied.stdout
        with connect_emulator(em) as target:
            vms = {vm.name for vm in target.compute.virtual_machines.list("learn-rg")}
            images = [image.name for image in target.compute.images.list_by_resource_group("learn-rg")]
        assert vms == LEARN_VMS and images == ["myImage"]
        again = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout

        (work / "stale.json").write_text(stale_copy)
        refused = invoke_cli("apply", "stale.json", cwd=work, env=env)
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
        result = invoke_cli("apply", "specs/learn-exercise", "--yes", cwd=work, env=endpoint_env(em))
        assert result.returncode == 1
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert "Capture/my-image/image" in errors[0] and "OperationNotAllowed" in errors[0]
        assert "Traceback" not in result.stderr


def test_apply_plan_destroy_on_the_embedded_emulator(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    applied = run_cli("apply", "specs/learn-exercise", "--yes", cwd=work)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "Plan: 6 to create, 0 to change, 0 to replace, 0 to delete, 4 actions." in applied.stdout
    figures = summary_row(applied.stdout)
    assert {k: v for k, v in figures.items() if k != "duration"} == {
        "created": "6",
        "changed": "0",
        "replaced": "0",
        "deleted": "0",
        "actions": "4",
        "failed": "0",
        "skipped": "0",
    }, applied.stdout
    assert figures["duration"].endswith("s")
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
        applied = invoke_cli("apply", "specs/learn-exercise", "--yes", "-o", "json", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr
        events = [json.loads(line) for line in applied.stdout.splitlines()]
        assert events[-1]["event"] == "summary" and events[-1]["failed"] == 0

        def writes() -> int:
            stats = requests.get(em.url("/_emulator/stats"), verify=str(em.ca_file), timeout=30).json()
            return sum(n for m, n in stats["requests"].items() if m in ("PUT", "POST", "PATCH", "DELETE"))

        before = writes()
        planned = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert writes() == before
