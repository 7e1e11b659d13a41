"""plan on the command line: text for people, JSON for scripts, exit codes for CI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_run import endpoint_env, invoke_cli, run_cli_on_terminal, workdir_with_specs

from imagepipe.emulator import start_emulator


def test_plan_shows_symbols_reasons_and_summary_and_detailed_exit_code(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        text = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert text.returncode == 2
        assert "+ SourceVM/source/vm" in text.stdout
        assert "> Capture/my-image/generalize" in text.stdout
        assert "Plan: 6 to create, 0 to change, 0 to replace, 0 to delete, 4 actions." in text.stdout

        as_json = invoke_cli("plan", "specs/learn-exercise", "-o", "json", cwd=work, env=env)
        assert as_json.returncode == 0
        plan = json.loads(as_json.stdout)
        assert {c["action"] for c in plan["resource_changes"]} == {"create", "action"}
        assert all(c["reason"] for c in plan["resource_changes"])
        assert "AAAA" not in as_json.stdout  # no key material


def test_plan_of_invalid_specs_exits_1_with_located_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("apiVersion: imagepipe/v1\nkind: Nope\nmetadata: {name: x}\nspec: {}\n")
    result = invoke_cli("plan", str(bad), "--target", "azure", cwd=tmp_path)
    assert result.returncode == 1
    assert "x.yaml:" in result.stderr and "Traceback" not in result.stderr


def test_azure_target_without_subscription_is_a_clear_error(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    env = {"AZURE_SUBSCRIPTION_ID": ""}
    result = invoke_cli("plan", "specs/learn-exercise", "--target", "azure", cwd=work, env=env)
    assert result.returncode == 1
    assert "subscription" in result.stderr and "Traceback" not in result.stderr


def test_every_plan_names_its_target_and_ci_on_the_default_emulator_is_warned(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    plain = invoke_cli("plan", "specs/learn-exercise", cwd=work, env={"CI": ""})
    assert plain.returncode == 0, plain.stderr
    assert "Target: the embedded emulator (state in .imagepipe), subscription " in plain.stdout
    assert "not Azure" in plain.stdout and "Warning:" not in plain.stdout

    in_ci = invoke_cli("plan", "specs/learn-exercise", cwd=work, env={"CI": "true"})
    assert "Warning: CI is set and no --target was given: this run acts on a local emulator" in in_ci.stdout
    chosen = invoke_cli("plan", "specs/learn-exercise", "--target", "local", cwd=work, env={"CI": "true"})
    assert "Warning:" not in chosen.stdout

    as_json = invoke_cli("plan", "specs/learn-exercise", "-o", "json", cwd=work, env={"CI": "true"})
    target = json.loads(as_json.stdout)["target"]
    assert target["kind"] == "embedded-emulator" and target["state"] == ".imagepipe"
    assert "local emulator, not on Azure" in target["warning"]


def test_no_color_takes_every_colour_out_of_a_terminal_s_plan(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    coloured = run_cli_on_terminal("plan", "specs/learn-exercise", cwd=work, answer="", env={"NO_COLOR": ""})
    colour = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|9[0-7])(?:;[0-9]+)*m")  # SGR foreground colours
    assert colour.search(coloured.stdout) and "Plan: 6 to create" in coloured.stdout
    plain = run_cli_on_terminal("--no-color", "plan", "specs/learn-exercise", cwd=work, answer="")
    assert "Plan: 6 to create" in plain.stdout
    assert not colour.search(plain.stdout)  # bold may stay: NO_COLOR is about colour


def test_a_deleted_document_is_pending_until_pruned(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    assert invoke_cli("apply", "specs/learn-exercise", "--yes", cwd=work).returncode == 0
    spec = work / "specs" / "learn-exercise" / "learn-exercise.yaml"
    text = spec.read_text()
    spec.write_text(text[: text.index("---\napiVersion: imagepipe/v1\nkind: Deployment")])

    pending = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work)
    assert pending.returncode == 2, pending.stdout + pending.stderr
    assert "No changes" not in pending.stdout
    assert "- Deployment/new-vm/vm[0]" in pending.stdout and "apply --prune deletes them" in pending.stdout

    pruned = invoke_cli("apply", "specs/learn-exercise", "--prune", "--yes", cwd=work)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    after = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work)
    assert after.returncode == 0 and "No changes" in after.stdout


def test_plan_as_a_table_and_a_saved_plan_shown_in_every_format(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    table = invoke_cli("plan", "specs/learn-exercise", "-o", "table", cwd=work, env={"COLUMNS": "250"})
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if "Capture/my-image/generalize" in line]
    assert rows and "action" in rows[0] and "generalize VM myVM" in table.stdout
    assert "Plan: 6 to create" in table.stdout

    saved = invoke_cli("plan", "specs/learn-exercise", "--out", "my.plan", cwd=work)
    assert saved.returncode == 0, saved.stderr
    as_json = json.loads(invoke_cli("show", "my.plan", "-o", "json", cwd=work).stdout)
    assert as_json["format_version"] and as_json["headline"].startswith("Plan: 6 to create")
    markdown = invoke_cli("show", "my.plan", "-o", "markdown", cwd=work).stdout
    assert markdown.startswith("<!-- imagepipe:plan stack=learn-exercise -->")
    shown = invoke_cli("show", "my.plan", "-o", "table", cwd=work, env={"COLUMNS": "250"}).stdout
    assert "Capture/my-image/generalize" in shown
