"""Exit codes and prompts as Terraform's: 1 for every error (usage errors included), 2 only for
pending changes with --detailed-exitcode, a declined prompt exits 1, and a plan that cannot be
undone (a generalize, a deletion) is approved only by `yes` typed in full."""

from __future__ import annotations

from pathlib import Path

from cli_run import endpoint_env, invoke_cli, run_cli_on_terminal, workdir_with_specs

from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator


def test_usage_errors_exit_1_never_the_2_of_pending_changes(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    mistyped = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcod", cwd=work)
    assert mistyped.returncode == 1
    assert "No such option '--detailed-exitcod'" in mistyped.stderr

    missing = invoke_cli("plan", "specs/learn-exercize", "--detailed-exitcode", cwd=work)
    assert missing.returncode == 1
    assert "no such file or directory: specs/learn-exercize" in missing.stderr

    bad_value = invoke_cli("apply", "specs/learn-exercise", "--parallelism", "none", cwd=work)
    assert bad_value.returncode == 1 and "Traceback" not in bad_value.stderr
    assert not (work / ".imagepipe").exists()  # nothing started


def _vms(em) -> set[str]:
    with connect_emulator(em) as target:
        return {vm.name for vm in target.compute.virtual_machines.list_all()}


def test_a_generalize_is_approved_only_by_yes_typed_in_full(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        declined = run_cli_on_terminal("apply", "specs/learn-exercise", cwd=work, env=env, answer="y")
        assert declined.returncode == 1, declined.stdout + declined.stderr
        assert "cannot be undone" in declined.stdout
        assert "Capture/my-image/generalize" in declined.stdout
        assert "Only 'yes' will be accepted" in declined.stdout
        assert "Cancelled: nothing was changed." in declined.stdout
        assert _vms(em) == set()

        approved = run_cli_on_terminal("apply", "specs/learn-exercise", cwd=work, env=env, answer="yes")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert _vms(em) == {"myVM", "myVMFromImage"}
        again = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout


def test_a_plan_without_irreversible_changes_takes_y_and_a_no_exits_1(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    env_password = {"IMAGEPIPE_DEMO_ADMIN_PASSWORD": "Correct-Horse-9-Battery"}
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em) | env_password
        declined = run_cli_on_terminal("apply", "specs/snapshot-restore", cwd=work, env=env, answer="n")
        assert declined.returncode == 1, declined.stdout + declined.stderr
        assert "cannot be undone" not in declined.stdout and "[y/N]" in declined.stdout
        assert _vms(em) == set()

        approved = run_cli_on_terminal("apply", "specs/snapshot-restore", cwd=work, env=env, answer="y")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert _vms(em) == {"app-server", "app-restore-0"}
        again = invoke_cli("plan", "specs/snapshot-restore", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout
