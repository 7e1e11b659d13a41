"""Every change that takes a Deployment's VMs down rolls in waves: a resize, a replacement of a
VM restored from specialized snapshots (its disks and its VM in one wave), and the pause between
two waves runs on the target's clock (the emulator's speed) and shows in the plain progress."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from imagepipe import vocabulary as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.render.plan import plan_json
from tests.e2e.cli_run import endpoint_env, invoke_cli
from tests.integration.engine_helpers import admin, apply, journal, plan, write_specs

GOLDEN = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: waves}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: golden}
spec:
  resourceGroup: waves-build-rg
  vmName: golden
  osType: Linux
  create:
    securityType: Standard
    image: Ubuntu2204
    adminUsername: azureuser
    sshPublicKey: {file: key.pub}
    subnet: {vnet: build, name: default, addressPrefix: 10.7.0.0/24}
"""

FLEET = (
    GOLDEN
    + """
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: web}
spec:
  source: SourceVM/golden
  type: generalized
  image: {resourceGroup: waves-images-rg, name: web-image}
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: web}
spec:
  image: Capture/web
  resourceGroup: waves-web-rg
  count: COUNT
  size: SIZE
  zones: [ZONE]
  subnet: {vnet: web, name: default, addressPrefix: 10.8.0.0/24}
  sshPublicKey: {file: key.pub}
  rollout:
    maxUnavailable: 2
    ROLLOUT
"""
)

FEBRUARY = """---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: february}
spec:
  source: SourceVM/golden
  type: specialized
  snapshots: {resourceGroup: waves-snap-rg}"""
SPECIALIZED = (
    GOLDEN
    + """
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: january}
spec:
  source: SourceVM/golden
  type: specialized
  snapshots: {resourceGroup: waves-snap-rg}
FEBRUARY
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: app}
spec:
  image: Capture/MONTH
  resourceGroup: waves-app-rg
  count: 4
  allowDuplicateIdentity: true
  subnet: {vnet: app, name: default, addressPrefix: 10.9.0.0/24}
  rollout:
    maxUnavailable: 2
    healthCheck: {script: "echo healthy", timeout: 2m}
"""
)


def fleet(
    folder: Path, *, count: int = 6, size: str = "Standard_B2s", zone: str = "1", rollout: str = ""
) -> Path:
    text = FLEET.replace("COUNT", str(count)).replace("SIZE", size).replace("ZONE", zone)
    return write_specs(folder, text.replace("ROLLOUT", rollout))


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def ops_in(emulator: Any, rg: str, since: set[str] | None = None) -> list[dict[str, Any]]:
    """The journal's operations on one resource group, those not in ``since`` (an earlier read)."""
    return [
        op
        for op in journal(emulator)
        if f"/resourcegroups/{rg}/" in op["resourceId"].lower() and op["id"] not in (since or set())
    ]


def op_ids(emulator: Any) -> set[str]:
    return {op["id"] for op in journal(emulator)}


def vm_of(op: dict[str, Any]) -> str:
    """The VM an operation acts on (a VM's own operations, its Run Commands, its disks)."""
    rid = op["resourceId"].lower()
    if "/virtualmachines/" in rid:
        return rid.split("/virtualmachines/", 1)[1].split("/", 1)[0]
    return rid.rsplit("/", 1)[-1].split("-osdisk")[0].split("-data")[0]


def most_down_at_once(ops: list[dict[str, Any]]) -> int:
    """From the journal of one apply: a VM is down from its delete's start to its next create's
    end, and for the whole of a write to a VM that stays (a resize: Azure restarts it)."""
    intervals: list[tuple[datetime, datetime]] = []
    down_since: dict[str, datetime] = {}
    for op in ops:  # in start order
        if "/virtualmachines/" not in op["resourceId"].lower() or "/runcommands/" in op["resourceId"].lower():
            continue
        vm = vm_of(op)
        if op["name"] == "VirtualMachines_Delete":
            down_since[vm] = at(op["startTime"])
        elif op["name"] == "VirtualMachines_CreateOrUpdate" and op["endTime"]:
            since = down_since.pop(vm, None) or at(op["startTime"])
            intervals.append((since, at(op["endTime"])))
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    down = most = 0
    for _, step in edges:
        down += step
        most = max(most, down)
    return most + len(down_since)  # deleted and never created again: still down


def wave_gap(
    ops: list[dict[str, Any]], wave: tuple[str, ...], then: tuple[str, ...]
) -> tuple[datetime, datetime]:
    """(when the last VM of ``wave`` passed its health check, when the first delete of ``then`` began)."""
    first_delete = min(at(op["startTime"]) for op in ops if op["name"].endswith("_Delete"))
    healthy = max(
        at(op["endTime"])
        for op in ops
        if "/runcommands/" in op["resourceId"].lower()
        and vm_of(op) in wave
        and at(op["startTime"]) > first_delete
    )
    second = min(at(op["startTime"]) for op in ops if op["name"].endswith("_Delete") and vm_of(op) in then)
    return healthy, second


def sizes_of(azure: Azure, rg: str) -> list[str]:
    return [vm["properties"]["size"] for vm in sorted(azure.list(r.VM, rg), key=lambda vm: vm["name"])]


def test_a_resize_of_a_fleet_rolls_in_waves_never_more_than_max_unavailable_down(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    folder = fleet(tmp_path / "fleet")
    assert apply(target, folder).result.ok
    assert not plan(target, folder).has_changes

    fleet(folder, size="Standard_D2s_v3")
    resized = plan(target, folder)
    (rollout,) = resized.rollouts
    assert [len(wave) for wave in rollout.waves] == [2, 2, 2]
    assert rollout.describe().startswith("resize 6 VMs in 3 waves of 2")
    assert resized.change("Deployment/web/vm[4]").action == "update"
    carried = json.loads(plan_json(resized))["rollouts"][0]
    assert carried["waves"][1] == ["Deployment/web/vm[2]", "Deployment/web/vm[3]"]
    assert len(carried["resized"]) == 6

    before = op_ids(emulator)
    done = apply(target, folder).result
    assert done.ok, done.failures
    assert done.rollouts == [("Deployment/web", "3 of 3 waves done")]
    assert sizes_of(azure, "waves-web-rg") == ["Standard_D2s_v3"] * 6
    ops = ops_in(emulator, "waves-web-rg", since=before)
    assert len([op for op in ops if op["name"] == "VirtualMachines_CreateOrUpdate"]) == 6  # one PATCH each
    assert not [op for op in ops if op["name"] == "VirtualMachines_Delete"]  # resized, not replaced
    assert most_down_at_once(ops) <= 2
    assert not plan(target, folder).has_changes


def test_a_specialized_fleet_moved_to_new_snapshots_rolls_its_disks_and_vms_together_in_waves(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    folder = write_specs(
        tmp_path / "restored", SPECIALIZED.replace("MONTH", "january").replace("FEBRUARY", "")
    )
    first = apply(target, folder).result
    assert first.ok, first.failures
    assert not plan(target, folder).has_changes

    # February's snapshots of the same source (a capture a month): the fleet moves to them.
    write_specs(folder, SPECIALIZED.replace("MONTH", "february").replace("FEBRUARY", FEBRUARY))
    moved = plan(target, folder)
    (rollout,) = moved.rollouts
    assert rollout.waves == [
        [
            "Deployment/app/disks[0]",
            "Deployment/app/vm[0]",
            "Deployment/app/disks[1]",
            "Deployment/app/vm[1]",
        ],
        [
            "Deployment/app/disks[2]",
            "Deployment/app/vm[2]",
            "Deployment/app/disks[3]",
            "Deployment/app/vm[3]",
        ],
    ]
    assert rollout.describe().startswith("replace 4 VMs in 2 waves of 2")
    assert moved.change("Deployment/app/disks[3]").action == "replace"
    assert "disks (made again from other snapshots)" in moved.change("Deployment/app/vm[3]").reason

    before = op_ids(emulator)
    done = apply(target, folder).result
    assert done.ok, done.failures
    disks = {d["name"]: d["properties"]["source_id"] for d in azure.list(r.DISK, "waves-app-rg")}
    assert len(disks) == 4 and all(source.endswith("/february-os") for source in disks.values())
    ops = ops_in(emulator, "waves-app-rg", since=before)
    assert most_down_at_once(ops) <= 2
    # Wave 2's first delete (its disk step deletes the VM) comes after wave 1's VMs are healthy.
    healthy, second = wave_gap(ops, ("app-00", "app-01"), ("app-02", "app-03"))
    assert healthy <= second
    assert not plan(target, folder).has_changes


PAUSE = 'pauseBetweenWaves: 10m\n    healthCheck: {script: "echo healthy", timeout: 2m}'


def test_the_pause_between_waves_runs_on_the_targets_clock_and_the_progress_says_so(
    tmp_path: Path, emulator: Any, target: Target
) -> None:
    folder = fleet(tmp_path / "paused", count=4, rollout=PAUSE)
    assert apply(target, folder).result.ok
    assert not plan(target, folder).has_changes

    fleet(folder, count=4, zone="2", rollout=PAUSE)  # a zone cannot change in place: replaced
    (rollout,) = plan(target, folder).rollouts
    assert "10 min between waves" in rollout.describe()
    before = op_ids(emulator)
    ran = invoke_cli("apply", str(folder), "--yes", cwd=tmp_path, env=endpoint_env(emulator))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # The plain (non-TTY) progress names each wave and the pause before the second.
    assert "= Deployment/web: rolling, wave 1 of 2 (vm[0], vm[1])\n" in ran.stdout
    assert "= Deployment/web: rolling, wave 2 of 2 (vm[2], vm[3]): pausing 10 min before it\n" in ran.stdout
    assert "Rollout of Deployment/web: 2 of 2 waves done" in ran.stdout

    healthy, second = wave_gap(
        ops_in(emulator, "waves-web-rg", since=before), ("web-00", "web-01"), ("web-02", "web-03")
    )
    speed = float(admin(emulator, "clock")["speed"])
    assert (second - healthy).total_seconds() * speed >= 600  # emulator time: Azure's seconds
    assert not plan(target, folder).has_changes
