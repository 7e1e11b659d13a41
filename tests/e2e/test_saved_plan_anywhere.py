"""A saved plan under any name, applied from any folder: recognised by its content, its spec paths
kept relative to the spec root and resolved from the plan file; `show` reads it back; a stale one
says per address what changed; an --out that cannot be written is a clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_run import endpoint_env, invoke_cli, workdir_with_specs

from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator


def test_a_plan_saved_under_any_name_applies_from_another_folder(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    (work / "plans").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        saved = invoke_cli("plan", "specs/learn-exercise", "--out", "plans/my.plan", cwd=work, env=env)
        assert saved.returncode == 0, saved.stderr
        stored = json.loads((work / "plans" / "my.plan").read_text())
        assert stored["root"] == "../specs/learn-exercise" and stored["paths"] == ["."]

        shown = invoke_cli("show", "../work/plans/my.plan", "-o", "json", cwd=elsewhere)
        assert shown.returncode == 0, shown.stderr
        summary = json.loads(shown.stdout)["summary"]
        assert {action: n for action, n in summary.items() if n} == {"create": 6, "action": 4}
        as_text = invoke_cli("show", "../work/plans/my.plan", cwd=elsewhere)
        assert "+ SourceVM/source/vm" in as_text.stdout and "Plan: 6 to create" in as_text.stdout

        stale_copy = work / "plans" / "copy of the plan"  # next to it: the root is relative to it
        shutil.copy(work / "plans" / "my.plan", stale_copy)
        applied = invoke_cli("apply", "../work/plans/my.plan", cwd=elsewhere, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        assert not (elsewhere / ".imagepipe").exists()
        with connect_emulator(em) as target:
            assert {vm.name for vm in target.compute.virtual_machines.list("learn-rg")} == {
                "myVM",
                "myVMFromImage",
            }
        again = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout

        stale = invoke_cli("apply", str(stale_copy), cwd=elsewhere, env=env)
        assert stale.returncode == 1
        assert (
            "Capture/my-image/image: the saved plan would create it, now it would leave it (up to date)"
            in stale.stderr
        ), stale.stderr
        assert "was nothing" not in stale.stderr and "Traceback" not in stale.stderr

        moved = shutil.copy(stale_copy, tmp_path / "moved.plan")
        refused = invoke_cli("apply", str(moved), cwd=elsewhere, env=env)
        assert refused.returncode == 1
        assert "the specs the plan was made from are not at" in refused.stderr, refused.stderr


def test_an_out_that_cannot_be_written_is_a_clear_error_before_planning(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    (work / "a-file").write_text("")
    missing = invoke_cli("plan", "specs/learn-exercise", "--out", "nowhere/my.plan", cwd=work)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: --out nowhere/my.plan: the folder nowhere does not exist"
    not_a_folder = invoke_cli("plan", "specs/learn-exercise", "--out", "a-file/my.plan", cwd=work)
    assert not_a_folder.returncode == 1
    assert "the folder a-file is not a folder" in not_a_folder.stderr
    assert not (work / ".imagepipe").exists()  # refused before the target was started
