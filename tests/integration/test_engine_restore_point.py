"""Captures without downtime (issue 16): quiesce: restorePoint never powers the source off and
builds the capture from the disk restore points, with no snapshot (a generalized capture's
temporary VM is made from them; a specialized capture is the restore point); quiesce: none
snapshots a running source."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import (
    CONFIG,
    LEARN_VM,
    REPO,
    apply,
    apply_until,
    copy_learn,
    destroy_stack,
    journal,
    plan,
)

from imagepipe.app.outputs import collect
from imagepipe.app.session import open_session
from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target, connect_emulator
from imagepipe.emulator import start_emulator

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


def snapshot_writes(emulator: Any) -> list[str]:
    """Every snapshot operation the emulator ever ran (a restorePoint capture makes none)."""
    return [op["resourceId"] for op in journal(emulator) if "/snapshots/" in op["resourceId"].lower()]


def restore_point_capture(tmp_path: Path, monkeypatch: Any) -> Path:
    """specs/snapshot-restore (a Windows VM with two data disks, one restored VM) with quiesce: restorePoint."""
    monkeypatch.setenv("IMAGEPIPE_DEMO_ADMIN_PASSWORD", PASSWORD)
    folder = shutil.copytree(REPO / "specs" / "snapshot-restore", tmp_path / "snapshot-restore")
    spec = next(folder.glob("*.yaml"))
    spec.write_text(spec.read_text().replace("  quiesce: stop\n", "  quiesce: restorePoint\n"))
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
        assert "Capture/my-image/snapshot-source-disks" not in reasons
        assert "the restore point collection" in reasons["Capture/my-image/cleanup"]
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
    if quiesce == "restorePoint":
        # The temporary VM's disks were restored from the disk restore points: no snapshot, ever.
        assert snapshot_writes(emulator) == []
        restores = [
            op for op in journal(emulator) if op["resourceId"].lower().endswith("/disks/my-image-tmp-osdisk")
        ]
        assert restores, "the temporary OS disk was never created"
    # Nothing of the capture is left: no temporaries, no restore point collection.
    assert azure.get(r.RESTORE_POINT_COLLECTION, "learn-rg", "my-image-rpc") is None
    assert [s["name"] for s in azure.list(r.SNAPSHOT, "learn-rg")] == []
    assert not [d for d in azure.list(r.DISK, "learn-rg") if d["name"].startswith("my-image-tmp")]
    assert not plan(target, folder).has_changes


def test_a_specialized_capture_is_its_restore_point(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure, monkeypatch: Any
) -> None:
    folder = restore_point_capture(tmp_path, monkeypatch)
    planned = plan(target, folder)
    reasons = {c.address: c.reason for c in planned.changes}
    assert "its disk restore points are the capture" in reasons["Capture/app-snapshot/restore-point"]
    assert not [a for a in reasons if a.startswith("Capture/app-snapshot/") and "snapshots" in a]
    assert "restored from the disk restore points" in reasons["Deployment/app-restore/disks[0]"]
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures

    source = azure.get(r.VM, "snap-rg", "app-server")
    assert source["power_state"] == "running"
    assert power_operations_on(emulator, source["id"]) == []
    assert snapshot_writes(emulator) == []
    # The capture is the restore point: its collection stays, and the restored VM's disks are
    # made from its disk restore points.
    point = azure.get(r.RESTORE_POINT, "snap-rg", "app-snapshot-rpc/app-snapshot-rp")
    assert point is not None and point["provisioning_state"] == "Succeeded"
    points = point["properties"]["disks"]
    assert sorted(points) == ["data0", "data1", "os"]
    restored = azure.get(r.VM, "snap-restore-rg", "app-restore-0")
    assert restored["provisioning_state"] == "Succeeded" and restored["power_state"] == "running"
    assert len(restored["properties"]["data_disks"]) == 2
    for suffix, name in (("os", "app-restore-0-osdisk"), ("data0", "app-restore-0-data0")):
        disk = azure.get(r.DISK, "snap-restore-rg", name)
        assert disk["properties"]["source_id"].lower() == points[suffix].lower()
    assert not plan(target, folder).has_changes
    with open_session([folder], CONFIG, target=target) as session:  # what `imagepipe output` shows
        outputs = {d.document: d.to_json() for d in collect(session.azure, session.specset, session.graph)}
    assert outputs["Capture/app-snapshot"] == {
        "restore_point": {"id": point["id"], "name": point["name"], "disk_restore_points": points}
    }

    outcome = destroy_stack(target, folder)
    assert outcome.result is None or outcome.result.ok, outcome.result.failures
    assert azure.get(r.RESTORE_POINT_COLLECTION, "snap-rg", "app-snapshot-rpc") is None
    assert azure.owned("snapshot-restore") == []


def test_a_changed_source_takes_a_new_restore_point(
    tmp_path: Path, target: Target, azure: Azure, monkeypatch: Any
) -> None:
    """A restore point taken for an earlier state of the source is replaced, never reused."""
    folder = restore_point_capture(tmp_path, monkeypatch)
    assert apply(target, folder).result.ok
    before = azure.get(r.RESTORE_POINT, "snap-rg", "app-snapshot-rpc/app-snapshot-rp")
    stale = set(before["properties"]["disks"].values())

    # The source changes (one more customize script): the capture is made again.
    spec = next(folder.glob("*.yaml"))
    text = spec.read_text().replace(
        "    dataDisks:\n", "    customize:\n      - script: Write-Output patched\n    dataDisks:\n", 1
    )
    spec.write_text(text)
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures
    after = azure.get(r.RESTORE_POINT, "snap-rg", "app-snapshot-rpc/app-snapshot-rp")
    assert after is not None and not set(after["properties"]["disks"].values()) & stale
    assert not plan(target, folder).has_changes


RESUME_SPEED = 150.0  # slow enough that an operation is in flight when the kill lands


@pytest.mark.parametrize(
    ("spec", "trigger"),
    [
        ("generalized", "+ Capture/my-image/temp-disks:"),
        pytest.param("generalized", "+ Capture/my-image/restore-point:", marks=pytest.mark.slow),
        pytest.param("specialized", "+ Deployment/app-restore/disks[0]:", marks=pytest.mark.slow),
    ],
)
def test_a_kill_after_the_restore_point_converges(
    tmp_path: Path, monkeypatch: Any, spec: str, trigger: str
) -> None:
    """Killed while the restore point is taken or disks are restored from it: the next apply
    finishes or reuses it, takes no second one and makes no snapshot."""
    folder = preserved_learn(tmp_path, "restorePoint") if spec == "generalized" else None
    folder = folder or restore_point_capture(tmp_path, monkeypatch)
    with start_emulator(tmp_path / "slow-state", speed=RESUME_SPEED, throttling=False) as slow:
        killed = apply_until(slow, folder, trigger, tmp_path)
        assert trigger in killed.output, killed.output
        assert killed.in_flight, f"the kill did not land mid-operation:\n{killed.output}"
        target = connect_emulator(slow, polling_interval=0.02)
        try:
            outcome = apply(target, folder)
            assert outcome.result is None or outcome.result.ok, outcome.result.failures
            assert not plan(target, folder).has_changes
            azure = Azure(target)
            created = [op for op in journal(slow) if op["name"] == "RestorePoints_Create"]
            assert len(created) == 1  # taken once, reused after the kill
            assert snapshot_writes(slow) == []
            vms = [vm for vm in azure.list_all(r.VM) if vm["name"] in ("myVM", "app-server")]
            assert vms and all(power_operations_on(slow, vm["id"]) == [] for vm in vms)
            if spec == "generalized":
                assert azure.get(r.IMAGE, "learn-rg", "myImage") is not None
                assert azure.get(r.RESTORE_POINT_COLLECTION, "learn-rg", "my-image-rpc") is None
            else:
                assert azure.get(r.VM, "snap-restore-rg", "app-restore-0")["power_state"] == "running"
        finally:
            target.close()


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
