"""Concurrent runs: one run per stack at a time (the stack lock), and two stacks sharing a
resource group never touch each other's resources."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from foreign import documents
from harness import EmulatorProcess, copy_specs, damage, run_cli, start_cli

from imagepipe.apply.lock import process_scope
from imagepipe.azure.lease import LOCK_GROUP, lease_name
from imagepipe.azure.target import connect_emulator

HELD = "another run holds stack"
RACE_SPEED = 150.0  # slow enough that the two runs overlap


@pytest.mark.slow
def test_two_applies_of_one_stack_at_once(tmp_path: Path, reference) -> None:
    expected = reference("learn-exercise")
    with EmulatorProcess(tmp_path / "emulator", speed=RACE_SPEED) as em:
        folder = copy_specs("learn-exercise", tmp_path)
        runs = [
            start_cli(em, "apply", str(folder), "--yes", cwd=tmp_path, log=tmp_path / f"run{i}.log")
            for i in range(2)
        ]
        codes = [proc.wait(timeout=600) for proc in runs]
        logs = [(tmp_path / f"run{i}.log").read_text() for i in range(2)]

        assert 0 in codes, logs
        for code, log in zip(codes, logs, strict=True):
            assert code == 0 or (code == 1 and f"{HELD} learn-exercise" in log), log
            assert "Traceback" not in log
        again = run_cli(em, "apply", str(folder), "--yes", cwd=tmp_path)
        assert again.returncode == 0
        planned = run_cli(em, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
        assert planned.returncode == 0, planned.stdout
        assert damage(em, expected) == []  # in particular, one deprovision and one generalize


def _second_stack(tmp_path: Path) -> Path:
    """The Learn exercise as another stack in the same resource group, with names of its own."""
    return copy_specs(
        "learn-exercise",
        tmp_path / "two",
        {
            "name: learn-exercise": "name: stack-two",
            "myVM": "twoVM",
            "myImage": "twoImage",
            "learn-vnet": "two-vnet",
            "10.0.0.0/24": "10.2.0.0/24",
        },
    )


@pytest.mark.slow
def test_apply_while_destroy_of_another_stack_in_the_same_group(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "emulator", speed=RACE_SPEED) as em:
        one = copy_specs("learn-exercise", tmp_path / "one", {"name: learn-exercise": "name: stack-one"})
        two = _second_stack(tmp_path)
        assert run_cli(em, "apply", str(one), "--yes", cwd=tmp_path).returncode == 0

        destroying = start_cli(em, "destroy", str(one), "--yes", cwd=tmp_path, log=tmp_path / "destroy.log")
        applying = start_cli(em, "apply", str(two), "--yes", cwd=tmp_path, log=tmp_path / "apply.log")
        assert destroying.wait(timeout=600) == 0, (tmp_path / "destroy.log").read_text()
        assert applying.wait(timeout=600) == 0, (tmp_path / "apply.log").read_text()

        plan_two = run_cli(em, "plan", str(two), "--detailed-exitcode", cwd=tmp_path)
        assert plan_two.returncode == 0, plan_two.stdout  # stack two whole, nothing of it deleted
        with connect_emulator(em) as target:
            names = {res.name for res in target.resources.resources.list()}
            tagged_one = list(
                target.resources.resources.list(
                    filter="tagName eq 'imagepipe-stack' and tagValue eq 'stack-one'"
                )
            )
        assert tagged_one == []
        assert {"twoVM", "twoVMFromImage", "twoImage", "two-vnet"} <= names
        assert not names & {"myVM", "myVMFromImage", "myImage", "learn-vnet"}


def _hold(em: EmulatorProcess, stack: str, holder: str, expires: float) -> str:
    """A lease written as another runner would have written it."""
    with connect_emulator(em) as target:
        target.resources.resource_groups.create_or_update(LOCK_GROUP, {"location": "eastus"})
        vnet = target.network.virtual_networks.begin_create_or_update(
            LOCK_GROUP,
            lease_name(stack),
            {
                "location": "eastus",
                "tags": {
                    "imagepipe-lock-stack": stack,
                    "imagepipe-lock-holder": holder,
                    "imagepipe-lock-command": "apply",
                    "imagepipe-lock-expires": f"{expires:.0f}",
                },
                "properties": {"addressSpace": {"addressPrefixes": ["10.255.255.248/29"]}},
            },
        ).result()
        return vnet.id


def test_a_run_of_another_runner_holds_the_stack(tmp_path: Path, emulator: EmulatorProcess) -> None:
    lease = _hold(emulator, "learn-exercise", "ci-runner-7/4242/abc", time.time() + 600)
    folder = copy_specs("learn-exercise", tmp_path)
    before = len(emulator.journal())

    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    destroyed = run_cli(emulator, "destroy", str(folder), "--yes", cwd=tmp_path)

    assert applied.returncode == 1
    assert f"{HELD} learn-exercise: `apply` on ci-runner-7 (pid 4242)" in applied.stderr
    assert "nothing was changed" in applied.stderr
    # the lock is taken before planning, so destroy is refused even with nothing to delete
    assert destroyed.returncode == 1
    assert f"{HELD} learn-exercise" in destroyed.stderr
    writes = [op for op in emulator.journal()[before:] if op["resourceId"].lower() != lease.lower()]
    assert [op for op in writes if "/resourceGroups/learn-rg" in op["resourceId"]] == []


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_apply_and_destroy_take_the_lock_before_planning(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """A run that plans before locking says "No changes" while a destroy of the stack runs."""
    folder = copy_specs("learn-exercise", tmp_path)
    assert run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path).returncode == 0
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout

    lease = _hold(emulator, "learn-exercise", "ci-runner-7/4242/abc", time.time() + 600)
    before = documents(emulator, [lease])
    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    destroyed = run_cli(emulator, "destroy", str(folder), "--yes", cwd=tmp_path)

    for refused in (applied, destroyed):
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"{HELD} learn-exercise: `apply` on ci-runner-7 (pid 4242)" in refused.stderr
        assert "No changes" not in refused.stdout
    assert documents(emulator, [lease]) == before  # the holder's lease is left as it was
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout  # nothing was deleted by the refused destroy


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_an_expired_lease_or_a_killed_holder_does_not_block(
    tmp_path: Path, emulator: EmulatorProcess
) -> None:
    folder = copy_specs("learn-exercise", tmp_path)
    _hold(emulator, "learn-exercise", "ci-runner-7/4242/abc", time.time() - 1)  # its runner vanished
    assert run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path).returncode == 0

    dead = _dead_pid()
    holder = f"{socket.gethostname()}/{dead}/abc/{process_scope()}"
    lease = _hold(emulator, "learn-exercise", holder, time.time() + 600)
    before = documents(emulator, [lease])
    spec = folder / "learn-exercise.yaml"
    spec.write_text(spec.read_text().replace("purpose: learn-exercise", "purpose: learn-exercise-2"))
    assert run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path).returncode == 0
    assert documents(emulator, [lease]) != before  # taken over, then released
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout


@pytest.mark.parametrize(
    "scope",
    [pytest.param("0123456789abcdef", id="other-pid-namespace"), pytest.param(None, id="older-lease")],
)
def test_a_holder_of_another_pid_namespace_is_not_judged_dead_by_its_pid(
    tmp_path: Path, emulator: EmulatorProcess, scope: str | None
) -> None:
    """Two containers share a host name, not their PIDs: a PID absent here may live there."""
    folder = copy_specs("learn-exercise", tmp_path)
    holder = f"{socket.gethostname()}/{_dead_pid()}/abc" + (f"/{scope}" if scope else "")
    lease = _hold(emulator, "learn-exercise", holder, time.time() + 600)
    before = documents(emulator, [lease])

    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)

    assert applied.returncode == 1
    assert f"{HELD} learn-exercise" in applied.stderr
    assert documents(emulator, [lease]) == before


def _dead_pid() -> int:
    """A pid of this host that no process has (one that has just exited)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(proc.stdout)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return pid
    return 2**22 + 1  # above the default pid_max: no process can have it


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_a_group_another_stack_removes_between_plan_and_act_is_made_again(tmp_path: Path) -> None:
    """The worst interleaving, made deterministic: stack two plans while stack one still owns
    the group, stack one's destroy then removes the group, and stack two acts on its plan."""
    from imagepipe.app.run import apply_specs
    from imagepipe.app.session import open_session
    from imagepipe.plan.planner import make_plan
    from imagepipe.target_config import TargetConfig

    with EmulatorProcess(tmp_path / "emulator", speed=1000.0) as em:
        one = copy_specs("learn-exercise", tmp_path / "one", {"name: learn-exercise": "name: stack-one"})
        two = _second_stack(tmp_path)
        assert run_cli(em, "apply", str(one), "--yes", cwd=tmp_path).returncode == 0
        with (
            connect_emulator(em) as target,
            open_session([two], TargetConfig("local"), target=target) as session,
        ):
            planned = make_plan(session.specset, session.graph, session.azure, paths=[str(two)])
            assert planned.plan.change("ResourceGroup/learn-rg").action == "no-op"  # stack one's group
            assert run_cli(em, "destroy", str(one), "--yes", cwd=tmp_path).returncode == 0
            assert target.resources.resource_groups.check_existence("learn-rg") is False

            outcome = apply_specs(session, planned=planned)
        assert outcome.result is not None and outcome.result.ok, outcome.result.failures
        plan_two = run_cli(em, "plan", str(two), "--detailed-exitcode", cwd=tmp_path)
        assert plan_two.returncode == 0, plan_two.stdout


def test_the_lease_is_renewed_while_held_and_released_after(
    tmp_path: Path, emulator: EmulatorProcess, monkeypatch
) -> None:
    from imagepipe.apply import lock

    monkeypatch.setattr(lock, "TTL_SECONDS", 2.0)  # renewed every half second
    with connect_emulator(emulator) as target:
        with lock.hold_stack(target, "renewed", "eastus", "apply") as held:
            first = held.record
            deadline = time.monotonic() + 60
            while held.record is first and time.monotonic() < deadline:
                time.sleep(0.05)
            assert held.record is not first and held.record.etag != first.etag
            assert float(held.record.tags["imagepipe-lock-expires"]) >= float(
                first.tags["imagepipe-lock-expires"]
            )
            other = lock.StackLock(target, "renewed", "eastus", "destroy")
            with pytest.raises(lock.StackLockedError, match="another run holds stack renewed"):
                other.acquire()
        released = target.network.virtual_networks.get(LOCK_GROUP, lease_name("renewed"))
        assert released.tags["imagepipe-lock-expires"] == "0"
        again = lock.StackLock(target, "renewed", "eastus", "apply")
        again.acquire()  # free once released
        again.release()
