"""Resources imagepipe does not own, made directly with the SDK as a person with the az CLI would."""

from __future__ import annotations

from typing import Any

from harness import EmulatorProcess

from imagepipe.azure.target import connect_emulator

UBUNTU = {
    "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy",
    "sku": "22_04-lts-gen2",
    "version": "latest",
}


def make_foreign(
    emulator: EmulatorProcess, rg: str, prefix: str, tags: dict[str, str], vm_name: str | None = None
) -> list[str]:
    """A vnet, NIC, VM and an empty disk in ``rg`` carrying ``tags`` (none, or another stack's); their ids."""
    with connect_emulator(emulator) as target:
        target.resources.resource_groups.create_or_update(rg, {"location": "eastus"})
        vnet = target.network.virtual_networks.begin_create_or_update(
            rg,
            f"{prefix}-vnet",
            {
                "location": "eastus",
                "tags": tags,
                "properties": {
                    "addressSpace": {"addressPrefixes": ["10.99.0.0/16"]},
                    "subnets": [{"name": "s", "properties": {"addressPrefix": "10.99.0.0/24"}}],
                },
            },
        ).result()
        nic = target.network.network_interfaces.begin_create_or_update(
            rg,
            f"{prefix}-nic",
            {
                "location": "eastus",
                "tags": tags,
                "properties": {
                    "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": vnet.subnets[0].id}}}]
                },
            },
        ).result()
        vm = target.compute.virtual_machines.begin_create_or_update(
            rg,
            vm_name or f"{prefix}-vm",
            {
                "location": "eastus",
                "tags": tags,
                "properties": {
                    "hardwareProfile": {"vmSize": "Standard_B1s"},
                    "storageProfile": {"imageReference": UBUNTU},
                    "osProfile": {
                        "computerName": "foreign",
                        "adminUsername": "someone",
                        "adminPassword": "Hand-made-Passw0rd!",
                    },
                    "networkProfile": {"networkInterfaces": [{"id": nic.id}]},
                },
            },
        ).result()
        disk = target.compute.disks.begin_create_or_update(
            rg,
            f"{prefix}-disk",
            {
                "location": "eastus",
                "tags": tags,
                "sku": {"name": "Standard_LRS"},
                "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4},
            },
        ).result()
        return [vnet.id, nic.id, vm.id, disk.id]


def documents(emulator: EmulatorProcess, ids: list[str]) -> dict[str, Any]:
    """The current documents of ``ids`` (None for a missing one), for before/after comparisons."""
    from harness import comparable, resource_documents

    docs = resource_documents(emulator)
    return {rid: comparable(docs.get(rid.lower())) for rid in ids}


def touched_since(emulator: EmulatorProcess, start: int, ids: list[str]) -> list[str]:
    """Operations the journal recorded after its first ``start`` entries on ``ids`` or their children."""
    wanted = [rid.lower() for rid in ids]
    return [
        f"{op['name']} {op['resourceId']}"
        for op in emulator.journal()[start:]
        if any(
            op["resourceId"].lower() == rid or op["resourceId"].lower().startswith(rid + "/")
            for rid in wanted
        )
    ]
