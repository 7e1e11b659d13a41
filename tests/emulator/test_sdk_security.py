"""Security types through the real SDK: Trusted Launch by default for Gen2, what managed images and
gallery definitions accept, disks that keep their security type, and Arm64 sizes."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import (
    UBUNTU_2204,
    Clients,
    create_nic,
    create_vm,
    error_code,
    generalize_in_place,
    vm_body,
    vm_id,
)

UBUNTU_GEN1 = {**UBUNTU_2204, "sku": "22_04-lts"}
UBUNTU_ARM64 = {**UBUNTU_2204, "sku": "22_04-lts-arm64"}
TL_ONLY = "The provided gallery image only supports creation of VMs and VM Scale Sets with 'TrustedLaunch' security type."
NO_MANAGED_IMAGE = (
    "Creation of managed images are not supported for virtual machine with TrustedLaunch security type."
)


def refused(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def vm(
    clients: Clients,
    rg: str,
    name: str,
    subnet_id: str,
    image: dict[str, Any],
    *,
    security_type: str | None = None,
    size: str = "Standard_B2s",
) -> Any:
    """A VM with Azure's default security type unless told (the helpers' default is Standard)."""
    nic = create_nic(clients, rg, f"{name}-nic", subnet_id)
    body = vm_body(name, nic, image, security_type=security_type, size=size)
    return clients.compute.virtual_machines.begin_create_or_update(rg, name, body).result()


def definition(
    clients: Clients, rg: str, name: str, *, features: list[dict] | None = None, gen: str = "V2"
) -> Any:
    clients.compute.galleries.begin_create_or_update(rg, "gal", {"location": "eastus"}).result()
    body: dict[str, Any] = {
        "location": "eastus",
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": gen,
            "identifier": {"publisher": "contoso", "offer": name, "sku": gen},
        },
    }
    if features is not None:
        body["properties"]["features"] = features
    return clients.compute.gallery_images.begin_create_or_update(rg, "gal", name, body).result()


def version_from_vm(clients: Clients, rg: str, definition_name: str, source: str) -> Any:
    body = {
        "location": "eastus",
        "properties": {"storageProfile": {"source": {"virtualMachineId": vm_id(clients, rg, source)}}},
    }
    return clients.compute.gallery_image_versions.begin_create_or_update(
        rg, "gal", definition_name, "1.0.0", body
    ).result()


def security_type_of(machine: Any) -> str | None:
    return machine.security_profile.security_type if machine.security_profile else None


def test_a_gen2_vm_without_security_profile_is_trusted_launch(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    made = vm(clients, rg, "tl", subnet_id, UBUNTU_2204)
    assert security_type_of(made) == "TrustedLaunch"
    assert made.security_profile.uefi_settings.secure_boot_enabled is True
    assert made.security_profile.uefi_settings.v_tpm_enabled is True
    disk = clients.compute.disks.get(rg, "tl-osdisk")
    assert disk.security_profile.security_type == "TrustedLaunch"
    gen1 = vm(clients, rg, "gen1", subnet_id, UBUNTU_GEN1)
    assert security_type_of(gen1) == "Standard"  # reported explicitly from API version 2025-11-01
    assert gen1.security_profile.uefi_settings is None


def test_a_gen1_image_cannot_make_a_trusted_launch_vm(clients: Clients, rg: str, subnet_id: str) -> None:
    error = refused(lambda: vm(clients, rg, "gen1", subnet_id, UBUNTU_GEN1, security_type="TrustedLaunch"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    assert "Gen2" in str(error.message)


def test_a_managed_image_of_a_trusted_launch_vm_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    vm(clients, rg, "tl", subnet_id, UBUNTU_2204)
    generalize_in_place(clients, rg, "tl")
    body = {"location": "eastus", "properties": {"sourceVirtualMachine": {"id": vm_id(clients, rg, "tl")}}}
    error = refused(lambda: clients.compute.images.begin_create_or_update(rg, "img", body).result())
    assert (error.status_code, error_code(error)) == (409, "OperationNotAllowed")
    assert NO_MANAGED_IMAGE in str(error.message)
    # The same VM is captured through a gallery definition made for Trusted Launch.
    definition(clients, rg, "tl", features=[{"name": "SecurityType", "value": "TrustedLaunch"}])
    assert version_from_vm(clients, rg, "tl", "tl").provisioning_state == "Succeeded"


def test_gen2_definitions_default_to_trusted_launch_supported(clients: Clients, rg: str) -> None:
    gen2 = definition(clients, rg, "gen2")
    assert [(f.name, f.value) for f in gen2.features] == [("SecurityType", "TrustedLaunchSupported")]
    gen1 = definition(clients, rg, "gen1", gen="V1")
    assert not gen1.features
    error = refused(
        lambda: definition(clients, rg, "bad", features=[{"name": "SecurityType", "value": "Secure"}])
    )
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    error = refused(
        lambda: definition(
            clients, rg, "old", gen="V1", features=[{"name": "SecurityType", "value": "TrustedLaunch"}]
        )
    )
    assert error.status_code == 400


def test_versions_must_fit_their_definition(clients: Clients, rg: str, subnet_id: str) -> None:
    vm(clients, rg, "tl", subnet_id, UBUNTU_2204)
    generalize_in_place(clients, rg, "tl")
    definition(clients, rg, "supported")  # TrustedLaunchSupported by default
    error = refused(lambda: version_from_vm(clients, rg, "supported", "tl"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    assert "TrustedLaunchSupported" in str(error.message)
    create_vm(clients, rg, "std", subnet_id)  # Standard
    generalize_in_place(clients, rg, "std")
    definition(clients, rg, "tl-only", features=[{"name": "SecurityType", "value": "TrustedLaunch"}])
    error = refused(lambda: version_from_vm(clients, rg, "tl-only", "std"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    definition(clients, rg, "gen1", gen="V1")
    error = refused(lambda: version_from_vm(clients, rg, "gen1", "std"))
    assert "hyperVGeneration" in str(error.message)


def test_a_trusted_launch_only_definition_refuses_standard_vms(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    vm(clients, rg, "tl", subnet_id, UBUNTU_2204)
    generalize_in_place(clients, rg, "tl")
    definition(clients, rg, "tl", features=[{"name": "SecurityType", "value": "TrustedLaunch"}])
    version = version_from_vm(clients, rg, "tl", "tl")
    error = refused(lambda: vm(clients, rg, "std", subnet_id, {"id": version.id}, security_type="Standard"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    assert TL_ONLY in str(error.message)
    assert security_type_of(vm(clients, rg, "fanout", subnet_id, {"id": version.id})) == "TrustedLaunch"
    scale_set = {
        "location": "eastus",
        "sku": {"name": "Standard_B2s", "capacity": 1},
        "properties": {
            "virtualMachineProfile": {
                "storageProfile": {"imageReference": {"id": version.id}},
                "osProfile": {
                    "computerNamePrefix": "ss",
                    "adminUsername": "azureuser",
                    "adminPassword": "Sup3r-Secret-Passw0rd!",
                },
                "networkProfile": {
                    "networkInterfaceConfigurations": [
                        {
                            "name": "nic",
                            "properties": {
                                "primary": True,
                                "ipConfigurations": [
                                    {"name": "ip", "properties": {"subnet": {"id": subnet_id}}}
                                ],
                            },
                        }
                    ]
                },
            }
        },
    }
    made = clients.compute.virtual_machine_scale_sets.begin_create_or_update(rg, "ss", scale_set).result()
    assert made.virtual_machine_profile.security_profile.security_type == "TrustedLaunch"


def test_disks_and_snapshots_keep_their_security_type(clients: Clients, rg: str, subnet_id: str) -> None:
    vm(clients, rg, "tl", subnet_id, UBUNTU_2204)
    clients.compute.virtual_machines.begin_deallocate(rg, "tl").result()
    os_disk = clients.compute.disks.get(rg, "tl-osdisk")
    copy = {
        "location": "eastus",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": os_disk.id}},
    }
    snapshot = clients.compute.snapshots.begin_create_or_update(rg, "snap", copy).result()
    assert snapshot.security_profile.security_type == "TrustedLaunch"
    from_snapshot = {
        "location": "eastus",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": snapshot.id}},
    }
    restored = clients.compute.disks.begin_create_or_update(rg, "restored", from_snapshot).result()
    assert restored.security_profile.security_type == "TrustedLaunch"
    as_standard = {
        **from_snapshot,
        "properties": {**from_snapshot["properties"], "securityProfile": {"securityType": "Standard"}},
    }
    assert (
        refused(
            lambda: clients.compute.disks.begin_create_or_update(rg, "x", as_standard).result()
        ).status_code
        == 400
    )

    def attach(name: str, security_type: str | None) -> Any:
        nic = create_nic(clients, rg, f"{name}-nic", subnet_id)
        body: dict[str, Any] = {
            "location": "eastus",
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_B2s"},
                "storageProfile": {
                    "osDisk": {
                        "createOption": "Attach",
                        "osType": "Linux",
                        "managedDisk": {"id": restored.id},
                    }
                },
                "networkProfile": {"networkInterfaces": [{"id": nic}]},
            },
        }
        if security_type:
            body["properties"]["securityProfile"] = {"securityType": security_type}
        return clients.compute.virtual_machines.begin_create_or_update(rg, name, body).result()

    error = refused(lambda: attach("std", "Standard"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    assert security_type_of(attach("restored-vm", None)) == "TrustedLaunch"


def test_arm64_images_need_arm64_sizes_and_a_gallery(clients: Clients, rg: str, subnet_id: str) -> None:
    error = refused(lambda: vm(clients, rg, "arm", subnet_id, UBUNTU_ARM64, size="Standard_D2s_v5"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    assert "Arm64" in str(error.message)
    made = vm(clients, rg, "arm", subnet_id, UBUNTU_ARM64, size="Standard_D2ps_v5", security_type="Standard")
    assert made.storage_profile.image_reference.sku == "22_04-lts-arm64"
    generalize_in_place(clients, rg, "arm")
    body = {"location": "eastus", "properties": {"sourceVirtualMachine": {"id": vm_id(clients, rg, "arm")}}}
    error = refused(lambda: clients.compute.images.begin_create_or_update(rg, "img", body).result())
    assert (error.status_code, error_code(error)) == (409, "OperationNotAllowed")
    assert "Arm64" in str(error.message)


def test_confidential_vms_need_a_confidential_size(clients: Clients, rg: str, subnet_id: str) -> None:
    error = refused(lambda: vm(clients, rg, "cvm", subnet_id, UBUNTU_2204, security_type="ConfidentialVM"))
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
