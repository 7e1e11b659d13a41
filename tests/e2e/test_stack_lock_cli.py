"""The stack lock on the command line: --lock-timeout waits for a run that holds it, `unlock`
names the holder and releases its lease, and a destroy leaves no lock resource group behind."""

from __future__ import annotations

import time
from pathlib import Path

from cli_run import endpoint_env, invoke_cli, run_cli_on_terminal, workdir_with_specs

from imagepipe.azure.lease import LOCK_GROUP, lease_name
from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator

SPECS = "specs/learn-exercise"
HOLDER = "`apply` on ci-runner-7 (pid 4242)"


def hold(em, stack: str, seconds: float) -> None:
    """A lease as a run on another machine writes it, expiring in ``seconds``."""
    with connect_emulator(em) as target:
        target.resources.resource_groups.create_or_update(LOCK_GROUP, {"location": "eastus"})
        target.network.virtual_networks.begin_create_or_update(
            LOCK_GROUP,
            lease_name(stack),
            {
                "location": "eastus",
                "tags": {
                    "imagepipe-lock-stack": stack,
                    "imagepipe-lock-holder": "ci-runner-7/4242/abc",
                    "imagepipe-lock-command": "apply",
                    "imagepipe-lock-expires": f"{time.time() + seconds:.0f}",
                },
                "properties": {"addressSpace": {"addressPrefixes": ["10.255.255.248/29"]}},
            },
        ).result()


def lease_expiry(em, stack: str) -> str:
    with connect_emulator(em) as target:
        return target.network.virtual_networks.get(LOCK_GROUP, lease_name(stack)).tags[
            "imagepipe-lock-expires"
        ]


def lock_group_exists(em) -> bool:
    with connect_emulator(em) as target:
        return target.resources.resource_groups.check_existence(LOCK_GROUP)


def test_plan_and_apply_wait_for_the_lock_with_lock_timeout(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        hold(em, "learn-exercise", 600)
        refused = invoke_cli("apply", SPECS, "--yes", cwd=work, env=env)
        assert refused.returncode == 1
        assert f"another run holds stack learn-exercise: {HOLDER}" in refused.stderr
        assert "--lock-timeout" in refused.stderr and "unlock learn-exercise" in refused.stderr
        waited = invoke_cli("apply", SPECS, "--yes", "--lock-timeout", "1s", cwd=work, env=env)
        assert waited.returncode == 1 and "after waiting 1 s" in waited.stderr, waited.stderr
        bad = invoke_cli("apply", SPECS, "--yes", "--lock-timeout", "5 minutes", cwd=work, env=env)
        assert bad.returncode == 1 and "is not a duration" in bad.stderr

        hold(em, "learn-exercise", 3)  # the other run ends in 3 s
        planned = invoke_cli("plan", SPECS, "--lock-timeout", "1m", cwd=work, env=env)
        assert planned.returncode == 0, planned.stderr
        assert f"waiting up to 1 min for the lock of stack learn-exercise, held by {HOLDER}" in planned.stderr

        hold(em, "learn-exercise", 3)
        applied = invoke_cli("apply", SPECS, "--yes", "--lock-timeout", "1m30s", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        assert "waiting up to 1 min 30 s for the lock of stack learn-exercise" in applied.stderr
        again = invoke_cli("plan", SPECS, "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout


def test_unlock_names_the_holder_asks_and_releases(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        hold(em, "learn-exercise", 600)
        held = lease_expiry(em, "learn-exercise")

        no_terminal = invoke_cli("unlock", "learn-exercise", cwd=work, env=env)
        assert no_terminal.returncode == 1 and "--yes" in no_terminal.stderr
        declined = run_cli_on_terminal("unlock", "learn-exercise", cwd=work, env=env, answer="y")
        assert declined.returncode == 1, declined.stdout
        assert f"Stack learn-exercise is locked by {HOLDER}" in declined.stdout
        assert "Cancelled: the lock was not released." in declined.stdout
        assert lease_expiry(em, "learn-exercise") == held

        released = invoke_cli("unlock", "learn-exercise", "--yes", cwd=work, env=env)
        assert released.returncode == 0, released.stderr
        assert f"Stack learn-exercise is locked by {HOLDER}" in released.stdout
        assert lease_expiry(em, "learn-exercise") == "0"
        not_locked = invoke_cli("unlock", "learn-exercise", "--yes", cwd=work, env=env)
        assert not_locked.returncode == 1 and "stack learn-exercise is not locked" in not_locked.stderr

        applied = invoke_cli("apply", SPECS, "--yes", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        again = invoke_cli("plan", SPECS, "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout


def test_destroy_removes_the_lock_group_unless_another_stack_holds_a_lock_in_it(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        applied = invoke_cli("apply", SPECS, "--yes", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        again = invoke_cli("plan", SPECS, "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout
        assert lock_group_exists(em)  # the apply's released lease

        hold(em, "another-stack", 600)
        destroyed = invoke_cli("destroy", SPECS, "--yes", cwd=work, env=env)
        assert destroyed.returncode == 0, destroyed.stderr + destroyed.stdout
        with connect_emulator(em) as target:
            leases = {vnet.name for vnet in target.network.virtual_networks.list(LOCK_GROUP)}
        assert leases == {lease_name("another-stack")}  # its own lease gone, the other's kept

        released = invoke_cli("unlock", "another-stack", "--yes", cwd=work, env=env)
        assert released.returncode == 0, released.stderr
        destroyed = invoke_cli("destroy", SPECS, "--yes", cwd=work, env=env)
        assert destroyed.returncode == 0, destroyed.stderr + destroyed.stdout
        assert not lock_group_exists(em)
