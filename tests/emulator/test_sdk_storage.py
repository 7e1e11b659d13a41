"""Managed disks, snapshots and managed images through the real SDK clients."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from .helpers import Clients, captured_image, create_vm, generalize_in_place, image_from_blob, image_from_vm


def disk_id(clients: Clients, rg: str, kind: str, name: str) -> str:
    return f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Compute/{kind}/{name}"


def create_disk(
    clients: Clients, rg: str, name: str, creation: dict[str, Any], size: int | None = None
) -> Any:
    properties: dict[str, Any] = {"creationData": creation}
    if size is not None:
        properties["diskSizeGB"] = size
    body = {"location": "eastus", "sku": {"name": "Standard_LRS"}, "properties": properties}
    return clients.compute.disks.begin_create_or_update(rg, name, body).result()


def snapshot(clients: Clients, rg: str, name: str, source_id: str, *, incremental: bool = False) -> Any:
    body = {
        "location": "eastus",
        "properties": {
            "creationData": {"createOption": "Copy", "sourceResourceId": source_id},
            "incremental": incremental,
        },
    }
    return clients.compute.snapshots.begin_create_or_update(rg, name, body).result()


def test_empty_disk(clients: Clients, rg: str) -> None:
    disk = create_disk(clients, rg, "empty", {"createOption": "Empty"}, size=64)
    assert disk.type == "Microsoft.Compute/disks"
    assert disk.properties.provisioning_state == "Succeeded"
    assert disk.properties.disk_size_gb == 64
    assert disk.properties.disk_state == "Unattached"
    assert disk.properties.creation_data.create_option == "Empty"
    assert [d.name for d in clients.compute.disks.list_by_resource_group(rg)] == ["empty"]
    clients.compute.disks.begin_delete(rg, "empty").result()
    with pytest.raises(ResourceNotFoundError):
        clients.compute.disks.get(rg, "empty")


def test_disk_copied_from_a_disk_and_from_a_snapshot(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    os_disk_id = disk_id(clients, rg, "disks", "vm-osdisk")
    copy = create_disk(clients, rg, "copy", {"createOption": "Copy", "sourceResourceId": os_disk_id})
    assert copy.properties.os_type == "Linux"
    assert copy.properties.creation_data.source_resource_id.lower() == os_disk_id.lower()
    assert copy.properties.disk_state == "Unattached"

    snap = snapshot(clients, rg, "snap", os_disk_id)
    restored = create_disk(clients, rg, "restored", {"createOption": "Copy", "sourceResourceId": snap.id})
    assert restored.properties.os_type == "Linux"
    assert (
        restored.properties.disk_size_gb == clients.compute.disks.get(rg, "vm-osdisk").properties.disk_size_gb
    )


def test_disk_from_a_managed_image(clients: Clients, rg: str, subnet_id: str) -> None:
    image = captured_image(clients, rg, subnet_id, "img")
    disk = create_disk(
        clients, rg, "fromimage", {"createOption": "FromImage", "imageReference": {"id": image.id}}
    )
    assert disk.properties.provisioning_state == "Succeeded"
    assert disk.properties.os_type == "Linux"


def test_full_and_incremental_snapshots_of_every_disk(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id, data_disk_sizes=[8])
    for disk in ("vm-osdisk", "vm-data0"):
        full = snapshot(clients, rg, f"{disk}-full", disk_id(clients, rg, "disks", disk))
        assert full.type == "Microsoft.Compute/snapshots"
        assert full.properties.provisioning_state == "Succeeded"
        assert full.properties.incremental is False
        incremental = snapshot(
            clients, rg, f"{disk}-inc", disk_id(clients, rg, "disks", disk), incremental=True
        )
        assert incremental.properties.incremental is True
    assert clients.compute.snapshots.get(rg, "vm-osdisk-full").properties.os_type == "Linux"
    assert clients.compute.snapshots.get(rg, "vm-data0-full").properties.disk_size_gb == 8
    names = sorted(s.name for s in clients.compute.snapshots.list_by_resource_group(rg))
    assert names == ["vm-data0-full", "vm-data0-inc", "vm-osdisk-full", "vm-osdisk-inc"]
    # A snapshot is a copy: the VM keeps running.
    assert clients.compute.virtual_machines.get(rg, "vm").properties.provisioning_state == "Succeeded"


def test_image_from_a_vm_has_all_its_disks(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "src", subnet_id, data_disk_sizes=[8, 16])
    generalize_in_place(clients, rg, "src")
    image = image_from_vm(clients, rg, "img", "src")
    assert image.type == "Microsoft.Compute/images"
    assert image.properties.provisioning_state == "Succeeded"
    assert image.properties.source_virtual_machine.id.lower().endswith("/virtualmachines/src")
    storage = image.properties.storage_profile
    assert storage.os_disk.os_type == "Linux"
    assert storage.os_disk.os_state == "Generalized"
    assert sorted(d.lun for d in storage.data_disks) == [0, 1]
    assert [i.name for i in clients.compute.images.list_by_resource_group(rg)] == ["img"]


def test_image_from_snapshots_and_disks(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id, data_disk_sizes=[8])
    os_snap = snapshot(clients, rg, "os-snap", disk_id(clients, rg, "disks", "vm-osdisk"))
    body = {
        "location": "eastus",
        "properties": {
            "storageProfile": {
                "osDisk": {"osType": "Linux", "osState": "Generalized", "snapshot": {"id": os_snap.id}},
                "dataDisks": [{"lun": 0, "managedDisk": {"id": disk_id(clients, rg, "disks", "vm-data0")}}],
            }
        },
    }
    image = clients.compute.images.begin_create_or_update(rg, "fromsnap", body).result()
    assert image.properties.provisioning_state == "Succeeded"
    assert image.properties.storage_profile.os_disk.snapshot.id.lower() == os_snap.id.lower()
    assert [d.lun for d in image.properties.storage_profile.data_disks] == [0]


def test_image_from_a_blob_uri(clients: Clients, rg: str) -> None:
    image = image_from_blob(clients, rg, "vhd")
    os_disk = image.properties.storage_profile.os_disk
    assert os_disk.blob_uri.endswith("/vhd.vhd")
    assert os_disk.os_state == "Generalized"
    clients.compute.images.begin_delete(rg, "vhd").result()
    with pytest.raises(ResourceNotFoundError):
        clients.compute.images.get(rg, "vhd")


def test_vm_from_a_captured_image(clients: Clients, rg: str, subnet_id: str) -> None:
    image = captured_image(clients, rg, subnet_id, "img")
    vm = create_vm(clients, rg, "clone", subnet_id, image_reference={"id": image.id})
    assert vm.properties.provisioning_state == "Succeeded"
    assert vm.properties.storage_profile.image_reference.id.lower() == image.id.lower()
