"""Captures without downtime (issue 16): quiesce: restorePoint never powers the source off and
builds the same outputs; quiesce: none snapshots a running source."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import LEARN_VM, REPO, apply, copy_learn, journal, plan

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target

PASSWORD = "Demo-Passw0rd-2026!"
POWER_OPERATIONS = {"VirtualMachines_PowerOff", "VirtualMachines_Deallocate", "VirtualMachines_Start"}


def preserved_learn(tmp_path: Path, quiesce: str) -> Path:
    """The Learn exercise capturing a copy of its source (preserveSource: true) with a quiesce mode."""
    folder = copy_learn(tmp_path, stack=f"learn-{quiesce.lower()}")
    spec = folder / "learn-exercise.yaml"
    text = spec.read_text().replace(
        "  preserveSource: false   # generalize myVM in place, as the exercise does\n",
        f"  quiesce: {quiesce}\n",
    )
    spec.write_text(text)
    return folder


def power_operations_on(emulator: Any, vm_id: str) -> list[str]:
    return [
        op["name"]
        for op in journal(emulator)
        if op["resourceId"].lower() == vm_id.lower() and op["name"] in POWER_OPERATIONS
    ]


@pytest.mark.parametrize("quiesce", ["restorePoint", "none"])
def test_a_generalized_capture_without_downtime(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure, quiesce: str
) -> None:
    folder = preserved_learn(tmp_path, quiesce)
    planned = plan(target, folder)
    reasons = {c.address: c.reason for c in planned.changes}
    if quiesce == "restorePoint":
        assert "it keeps running" in reasons["Capture/my-image/restore-point"]
    else:
        assert "crash-consistent" in reasons["Capture/my-image/quiesce"]
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures

    source = azure.get(r.VM, "learn-rg", "myVM")
    assert source["power_state"] == "running"
    assert power_operations_on(emulator, source["id"]) == []  # never stopped, never started again
    image = azure.get(r.IMAGE, "learn-rg", "myImage")
    assert image["properties"]["source_vm_id"].lower().endswith("/virtualmachines/my-image-tmp")
    assert azure.get(r.VM, "learn-rg", LEARN_VM)["provisioning_state"] == "Succeeded"
    # Nothing of the capture is left: no temporaries, no restore point collection.
    assert azure.get(r.RESTORE_POINT_COLLECTION, "learn-rg", "my-image-rpc") is None
    assert [s["name"] for s in azure.list(r.SNAPSHOT, "learn-rg")] == []
    assert not plan(target, folder).has_changes


def test_a_specialized_capture_from_a_restore_point(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure, monkeypatch: Any
) -> None:
    monkeypatch.setenv("IMAGEPIPE_DEMO_ADMIN_PASSWORD", PASSWORD)
    folder = shutil.copytree(REPO / "specs" / "snapshot-restore", tmp_path / "snapshot-restore")
    spec = next(folder.glob("*.yaml"))
    spec.write_text(spec.read_text().replace("  quiesce: stop\n", "  quiesce: restorePoint\n"))
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures

    source = azure.get(r.VM, "snap-rg", "app-server")
    assert source["power_state"] == "running"
    assert power_operations_on(emulator, source["id"]) == []
    snapshots = {s["name"]: s for s in azure.list(r.SNAPSHOT, "snap-rg")}
    assert sorted(snapshots) == ["app-snapshot-data0", "app-snapshot-data1", "app-snapshot-os"]
    assert all("/diskrestorepoints/" in s["properties"]["source_id"].lower() for s in snapshots.values())
    restored = azure.get(r.VM, "snap-restore-rg", "app-restore-0")
    assert restored["provisioning_state"] == "Succeeded"
    assert len(restored["properties"]["data_disks"]) == 2
    assert azure.get(r.RESTORE_POINT_COLLECTION, "snap-rg", "app-snapshot-rpc") is None
    assert not plan(target, folder).has_changes


def test_a_restore_point_left_by_an_interrupted_run_is_deleted_by_the_next_apply(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = preserved_learn(tmp_path, "restorePoint")
    assert apply(target, folder).result.ok
    # What a run killed between restore-point and restore-source leaves: the collection and its point.
    source = azure.get(r.VM, "learn-rg", "myVM")
    collection = {
        "type": r.RESTORE_POINT_COLLECTION,
        "resource_group": "learn-rg",
        "name": "my-image-rpc",
        "location": source["location"],
        "tags": {},
        "properties": {"source_id": source["id"]},
    }
    azure.create(collection).wait()
    point = {**collection, "type": r.RESTORE_POINT, "name": "my-image-rpc/my-image-rp"}
    azure.create({**point, "properties": {"consistency_mode": "ApplicationConsistent"}}).wait()

    change = plan(target, folder).change("Capture/my-image/restore-source")
    assert change is not None and change.action == "action" and "my-image-rpc" in change.reason
    assert apply(target, folder).result.ok
    assert azure.get(r.RESTORE_POINT_COLLECTION, "learn-rg", "my-image-rpc") is None
    assert not plan(target, folder).has_changes


def test_a_stale_restore_point_is_never_copied(
    tmp_path: Path, target: Target, azure: Azure, monkeypatch: Any
) -> None:
    """A restore point taken for an earlier state of the source (a run killed after it) is replaced."""
    monkeypatch.setenv("IMAGEPIPE_DEMO_ADMIN_PASSWORD", PASSWORD)
    folder = shutil.copytree(REPO / "specs" / "snapshot-restore", tmp_path / "snapshot-restore")
    spec = next(folder.glob("*.yaml"))
    spec.write_text(spec.read_text().replace("  quiesce: stop\n", "  quiesce: restorePoint\n"))
    assert apply(target, folder).result.ok
    source = azure.get(r.VM, "snap-rg", "app-server")
    stale = {
        "type": r.RESTORE_POINT_COLLECTION,
        "resource_group": "snap-rg",
        "name": "app-snapshot-rpc",
        "location": source["location"],
        "tags": {},
        "properties": {"source_id": source["id"]},
    }
    azure.create(stale).wait()
    point = {**stale, "type": r.RESTORE_POINT, "name": "app-snapshot-rpc/app-snapshot-rp"}
    taken = azure.create({**point, "properties": {"consistency_mode": "CrashConsistent"}}).wait()
    assert taken is not None
    stale_copies = set(taken["properties"]["disk_points"].values())

    # The source changes (one more customize script): the capture is made again.
    text = spec.read_text().replace(
        "    dataDisks:\n", "    customize:\n      - script: Write-Output patched\n    dataDisks:\n", 1
    )
    spec.write_text(text)
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures
    copied = {s["properties"]["source_id"] for s in azure.list(r.SNAPSHOT, "snap-rg")}
    assert copied and not copied & stale_copies
    assert not plan(target, folder).has_changes


def test_a_trusted_launch_source_captured_from_a_restore_point(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    """The disk restore points keep the disks' security profile: the temporary VM boots as Trusted Launch."""
    folder = shutil.copytree(REPO / "specs" / "trusted-launch", tmp_path / "trusted-launch")
    spec = next(folder.glob("*.yaml"))
    text = spec.read_text()
    marker = "  type: generalized   # preserveSource: true (default): a temporary copy is generalized\n"
    assert marker in text
    spec.write_text(text.replace(marker, "  type: generalized\n  quiesce: restorePoint\n"))
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures
    source_ids = [vm["id"] for vm in azure.list_all(r.VM) if vm["name"] == "tl-golden"]
    assert source_ids and power_operations_on(emulator, source_ids[0]) == []
    assert not plan(target, folder).has_changes
