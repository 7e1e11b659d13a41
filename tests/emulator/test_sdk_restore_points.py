"""VM restore points (collections, restore points, disk restore points) through the real SDK clients."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .helpers import (
    DEPROVISION_LINUX,
    Clients,
    admin,
    create_nic,
    create_vm,
    error_code,
    power_state,
    run_script,
    vm_id,
)


def collection(clients: Clients, rg: str, name: str, vm: str, location: str = "eastus") -> Any:
    body = {"location": location, "properties": {"source": {"id": vm_id(clients, rg, vm)}}}
    return clients.compute.restore_point_collections.create_or_update(rg, name, body)


def restore_point(clients: Clients, rg: str, rpc: str, name: str, **properties: Any) -> Any:
    return clients.compute.restore_points.begin_create(rg, rpc, name, {"properties": properties}).result()


def restore_disk(clients: Clients, rg: str, name: str, point_id: str) -> Any:
    body = {
        "location": "eastus",
        "sku": {"name": "Premium_LRS"},
        "properties": {"creationData": {"createOption": "Restore", "sourceResourceId": point_id}},
    }
    return clients.compute.disks.begin_create_or_update(rg, name, body).result()


def journal(em: Any, resource: str) -> list[str]:
    answer = admin(em, "GET", f"journal?resource={resource}")
    answer.raise_for_status()
    return [entry["name"] for entry in answer.json()["value"]]


def test_a_restore_point_copies_every_disk_while_the_vm_keeps_running(
    emulator: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    create_vm(clients, rg, "src", subnet_id, data_disk_sizes=(16, 32))
    rpc = collection(clients, rg, "src-rpc", "src")
    assert rpc.properties.source.id.lower() == vm_id(clients, rg, "src").lower()
    assert rpc.properties.source.location == "eastus"
    assert rpc.properties.provisioning_state == "Succeeded"

    point = restore_point(clients, rg, "src-rpc", "rp1", consistencyMode="ApplicationConsistent")
    assert point.properties.provisioning_state == "Succeeded"
    assert point.properties.consistency_mode == "ApplicationConsistent"
    storage = point.properties.source_metadata.storage_profile
    assert storage.os_disk.name == "src-osdisk" and storage.os_disk.os_type == "Linux"
    assert [d.lun for d in storage.data_disks] == [0, 1]
    assert [d.disk_size_gb for d in storage.data_disks] == [16, 32]

    disks = list(clients.compute.disk_restore_point.list_by_restore_point(rg, "src-rpc", "rp1"))
    assert sorted(d.id.lower() for d in disks) == sorted(
        [storage.os_disk.disk_restore_point.id.lower()]
        + [d.disk_restore_point.id.lower() for d in storage.data_disks]
    )
    os_point = clients.compute.disk_restore_point.get(
        rg, "src-rpc", "rp1", storage.os_disk.disk_restore_point.id.rsplit("/", 1)[-1]
    )
    assert os_point.properties.source_resource_id.lower().endswith("/disks/src-osdisk")
    assert os_point.properties.os_type == "Linux"

    # Never powered off, never deallocated: the journal holds no power operation on the VM.
    assert power_state(clients, rg, "src") == "PowerState/running"
    assert journal(emulator, vm_id(clients, rg, "src")) == ["VirtualMachines_CreateOrUpdate"]
    assert journal(emulator, point.id) == ["RestorePoints_Create"]

    expanded = clients.compute.restore_point_collections.get(rg, "src-rpc", expand="restorePoints")
    assert [p.name for p in expanded.properties.restore_points] == ["rp1"]
    with_view = clients.compute.restore_points.get(rg, "src-rpc", "rp1", expand="instanceView")
    assert len(with_view.properties.instance_view.disk_restore_points) == 3
    assert [rpc.name for rpc in clients.compute.restore_point_collections.list(rg)] == ["src-rpc"]
    assert "src-rpc" in [c.name for c in clients.compute.restore_point_collections.list_all()]


def test_disks_made_from_disk_restore_points_boot_a_vm(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "src", subnet_id, data_disk_sizes=(8,))
    run_script(clients, rg, "src", [DEPROVISION_LINUX])  # the guest state at the restore point travels
    collection(clients, rg, "rpc", "src")
    point = restore_point(clients, rg, "rpc", "rp", consistencyMode="CrashConsistent")
    assert point.properties.consistency_mode == "CrashConsistent"
    storage = point.properties.source_metadata.storage_profile
    os_disk = restore_disk(clients, rg, "copy-os", storage.os_disk.disk_restore_point.id)
    data_disk = restore_disk(clients, rg, "copy-data0", storage.data_disks[0].disk_restore_point.id)
    assert os_disk.properties.creation_data.create_option == "Restore"
    assert os_disk.properties.os_type == "Linux" and os_disk.properties.disk_size_gb == 30
    assert data_disk.properties.disk_size_gb == 8 and data_disk.properties.os_type is None

    nic = create_nic(clients, rg, "copy-nic", subnet_id)
    body = {
        "location": "eastus",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {
                "osDisk": {"createOption": "Attach", "osType": "Linux", "managedDisk": {"id": os_disk.id}},
                "dataDisks": [{"lun": 0, "createOption": "Attach", "managedDisk": {"id": data_disk.id}}],
            },
            "networkProfile": {"networkInterfaces": [{"id": nic}]},
        },
    }
    copy = clients.compute.virtual_machines.begin_create_or_update(rg, "copy", body).result()
    assert copy.provisioning_state == "Succeeded"

    # A snapshot can be taken from a disk restore point too.
    snap_body = {
        "location": "eastus",
        "properties": {
            "creationData": {
                "createOption": "Restore",
                "sourceResourceId": os_disk.properties.creation_data.source_resource_id,
            }
        },
    }
    snap = clients.compute.snapshots.begin_create_or_update(rg, "snap", snap_body).result()
    assert snap.properties.os_type == "Linux"


def test_a_stopped_vm_gives_a_crash_consistent_restore_point(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    create_vm(clients, rg, "src", subnet_id)
    clients.compute.virtual_machines.begin_deallocate(rg, "src").result()
    collection(clients, rg, "rpc", "src")
    point = restore_point(clients, rg, "rpc", "rp")  # ApplicationConsistent by default
    assert point.properties.consistency_mode == "CrashConsistent"
    assert power_state(clients, rg, "src") == "PowerState/deallocated"


def test_excluded_disks_get_no_disk_restore_point(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "src", subnet_id, data_disk_sizes=(4, 4))
    data1 = f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/src-data1"
    collection(clients, rg, "rpc", "src")
    point = restore_point(clients, rg, "rpc", "rp", excludeDisks=[{"id": data1}])
    assert [d.lun for d in point.properties.source_metadata.storage_profile.data_disks] == [0]
    assert len(list(clients.compute.disk_restore_point.list_by_restore_point(rg, "rpc", "rp"))) == 2


def test_refusals(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "src", subnet_id)
    with pytest.raises(ResourceNotFoundError):
        collection(clients, rg, "orphan", "no-such-vm")
    with pytest.raises(HttpResponseError) as wrong_region:
        collection(clients, rg, "far", "src", location="westus")
    assert error_code(wrong_region.value) == "InvalidParameter"
    collection(clients, rg, "rpc", "src")
    with pytest.raises(HttpResponseError) as bad_mode:
        restore_point(clients, rg, "rpc", "rp", consistencyMode="Whenever")
    assert error_code(bad_mode.value) == "InvalidParameter"
    restore_point(clients, rg, "rpc", "rp")
    with pytest.raises(HttpResponseError) as again:
        restore_point(clients, rg, "rpc", "rp")
    assert error_code(again.value) == "OperationNotAllowed"
    # Only tags may change on a collection.
    other = vm_id(clients, rg, "other")
    with pytest.raises(HttpResponseError) as moved:
        clients.compute.restore_point_collections.create_or_update(
            rg, "rpc", {"location": "eastus", "properties": {"source": {"id": other}}}
        )
    assert error_code(moved.value) == "PropertyChangeNotAllowed"
    tagged = clients.compute.restore_point_collections.update(rg, "rpc", {"tags": {"team": "img"}})
    assert tagged.tags == {"team": "img"}


def test_deleting_a_collection_deletes_its_restore_points(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "src", subnet_id)
    collection(clients, rg, "rpc", "src")
    point = restore_point(clients, rg, "rpc", "rp")
    os_point = point.properties.source_metadata.storage_profile.os_disk.disk_restore_point.id
    disk = restore_disk(clients, rg, "kept", os_point)
    clients.compute.restore_point_collections.begin_delete(rg, "rpc").result()
    with pytest.raises(ResourceNotFoundError):
        clients.compute.restore_points.get(rg, "rpc", "rp")
    with pytest.raises(ResourceNotFoundError):
        clients.compute.restore_point_collections.get(rg, "rpc")
    # A disk made from a disk restore point is a copy: it outlives the restore point.
    assert clients.compute.disks.get(rg, "kept").id == disk.id
    with pytest.raises(ResourceNotFoundError):
        restore_disk(clients, rg, "too-late", os_point)


def test_a_disk_restored_from_a_disk_restore_point_keeps_what_its_disk_was(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    """Generation, OS type, size and the Trusted Launch security profile travel from the OS disk
    through its disk restore point to a disk made from it (as a snapshot's copy keeps them)."""
    create_vm(clients, rg, "tl", subnet_id, security_type="TrustedLaunch")
    source_disk = clients.compute.disks.get(
        rg, clients.compute.virtual_machines.get(rg, "tl").storage_profile.os_disk.name
    )
    collection(clients, rg, "rpc", "tl")
    point = restore_point(clients, rg, "rpc", "rp")
    restored = restore_disk(
        clients, rg, "tl-copy", point.properties.source_metadata.storage_profile.os_disk.disk_restore_point.id
    )
    assert restored.properties.hyper_v_generation == source_disk.properties.hyper_v_generation == "V2"
    assert restored.properties.os_type == "Linux"
    assert restored.properties.disk_size_gb == source_disk.properties.disk_size_gb
    assert restored.properties.security_profile.security_type == "TrustedLaunch"
