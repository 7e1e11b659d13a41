"""A saved plan is data a pull request can tamper with: it is checked against its schema before
anything of it is used, and everything it depends on (the specs and the files their `{file:}`
references read) is in its fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from cli_run import endpoint_env, invoke_cli, workdir_with_specs

from imagepipe.emulator import start_emulator

NOT_A_PLAN = "not a plan file saved by `imagepipe plan --out`"


def _stack_operations(em) -> list[dict]:
    """The emulator's journal of operations on the stack's resource group (the lock's is elsewhere)."""
    journal = requests.get(em.url("/_emulator/journal"), verify=str(em.ca_file), timeout=30).json()["value"]
    return [op for op in journal if "/resourcegroups/learn-rg" in op["resourceId"].lower()]


def _writes(em) -> int:
    stats = requests.get(em.url("/_emulator/stats"), verify=str(em.ca_file), timeout=30).json()
    return stats["requests"].get("PUT", 0) + stats["requests"].get("POST", 0)


def _tamper_subscription(plan: dict) -> None:
    plan["subscription"] = ""


def _tamper_changes(plan: dict) -> None:
    plan["changes"] = [{"action": "create"}]


def _tamper_change_field(plan: dict) -> None:
    plan["changes"][0]["command"] = "rm -rf /"


def _tamper_paths(plan: dict) -> None:
    plan["paths"] = []


def _tamper_format(plan: dict) -> None:
    plan["changes"] = "everything"


def _tamper_system_path(plan: dict) -> None:
    plan["paths"] = ["/usr"]


def _tamper_path_above_root(plan: dict) -> None:
    plan["paths"] = ["../../../../../../etc"]


def _tamper_absolute_root(plan: dict) -> None:
    plan["root"] = "/usr"


@pytest.mark.parametrize(
    ("tamper", "where"),
    [
        (_tamper_subscription, "subscription"),
        (_tamper_changes, "changes[0]"),
        (_tamper_change_field, "changes[0]"),
        (_tamper_paths, "paths"),
        (_tamper_format, "changes"),
        (_tamper_system_path, "paths[0]: '/usr' is not inside the spec root"),
        (_tamper_path_above_root, "paths[0]"),
        (_tamper_absolute_root, "root: must be relative"),
    ],
    ids=[
        "empty-subscription",
        "change-without-address",
        "unknown-change-field",
        "no-paths",
        "changes-not-a-list",
        "system-path",
        "path-above-the-root",
        "absolute-root",
    ],
)
def test_a_tampered_plan_file_is_refused_before_anything_is_read(tmp_path: Path, tamper, where: str) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        assert (
            invoke_cli("plan", "specs/learn-exercise", "--out", "plan.json", cwd=work, env=env).returncode
            == 0
        )
        plan = json.loads((work / "plan.json").read_text())
        tamper(plan)
        (work / "plan.json").write_text(json.dumps(plan))
        writes_before = _writes(em)

        refused = invoke_cli("apply", "plan.json", cwd=work, env=env)

        assert refused.returncode == 1
        assert NOT_A_PLAN in refused.stderr and f"{where}" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        assert _writes(em) == writes_before


def test_a_changed_file_that_a_reference_reads_makes_the_plan_stale(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        assert (
            invoke_cli("plan", "specs/learn-exercise", "--out", "plan.json", cwd=work, env=env).returncode
            == 0
        )
        key = work / "specs" / "learn-exercise" / "demo_id_ed25519.pub"
        key.write_text(key.read_text().replace("ssh-ed25519 ", "ssh-ed25519  "))  # another key, same specs
        refused = invoke_cli("apply", "plan.json", cwd=work, env=env)

        assert refused.returncode == 1
        assert "the specs changed since the plan was made" in refused.stderr, refused.stderr
        assert _stack_operations(em) == []
