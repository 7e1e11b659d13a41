"""The marketplace catalogue: URNs and aliases' images, `latest`, unknown URNs, admin credentials."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import (
    COMPLEX_PASSWORD,
    Clients,
    create_nic,
    error_code,
    linux_os_profile,
    unique,
    vm_body,
)

CATALOGUE = {
    "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2": ("Linux", "V2"),
    "Canonical:ubuntu-24_04-lts:server": ("Linux", "V2"),
    "Debian:debian-12:12-gen2": ("Linux", "V2"),
    "RedHat:RHEL:9-lvm-gen2": ("Linux", "V2"),
    "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition": ("Windows", "V2"),
    "MicrosoftWindowsServer:WindowsServer:2022-datacenter": ("Windows", "V1"),
    "MicrosoftWindowsServer:WindowsServer:2019-datacenter-gensecond": ("Windows", "V2"),
}


def reference(urn: str, version: str = "latest") -> dict[str, str]:
    publisher, offer, sku = urn.split(":")
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def os_profile(name: str, os_type: str) -> dict[str, object]:
    if os_type == "Windows":
        return {"computerName": name[:15], "adminUsername": "azureadmin", "adminPassword": COMPLEX_PASSWORD}
    return linux_os_profile(name)


def create(
    clients: Clients, rg: str, subnet_id: str, image: dict[str, str], profile: dict[str, object]
) -> object:
    name = unique("vm")
    nic = create_nic(clients, rg, f"{name}-nic", subnet_id)
    body = vm_body(name, nic, image, os_profile=profile)
    return clients.compute.virtual_machines.begin_create_or_update(rg, name, body).result()


@pytest.mark.parametrize("urn", sorted(CATALOGUE))
def test_latest_resolves_for_every_catalogue_image(
    clients: Clients, rg: str, subnet_id: str, urn: str
) -> None:
    os_type, generation = CATALOGUE[urn]
    vm = create(clients, rg, subnet_id, reference(urn), os_profile("vm", os_type))
    storage = vm.properties.storage_profile
    assert storage.os_disk.os_type == os_type
    exact = storage.image_reference.exact_version
    assert exact and exact != "latest"
    # Azure never echoes the admin password.
    assert COMPLEX_PASSWORD not in json.dumps(clients.compute.virtual_machines.get(rg, vm.name).as_dict())
    disk = clients.compute.disks.get(rg, storage.os_disk.name)
    assert disk.properties.os_type == os_type
    assert disk.properties.hyper_v_generation == generation

    listed = clients.compute.virtual_machine_images.list(
        "eastus", reference(urn)["publisher"], reference(urn)["offer"], reference(urn)["sku"]
    )
    assert exact in [item.name for item in listed]
    # The exact version works as well as "latest".
    again = create(clients, rg, subnet_id, reference(urn, exact), os_profile("vm", os_type))
    assert again.properties.storage_profile.image_reference.exact_version == exact


@pytest.mark.parametrize(
    "image",
    [
        reference("Canonical:no-such-offer:22_04-lts-gen2"),
        reference("Canonical:0001-com-ubuntu-server-jammy:no-such-sku"),
        reference("Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2", "0.0.1"),
    ],
)
def test_an_unknown_urn_is_refused(clients: Clients, rg: str, subnet_id: str, image: dict[str, str]) -> None:
    with pytest.raises(HttpResponseError) as caught:
        create(clients, rg, subnet_id, image, linux_os_profile("vm"))
    assert caught.value.status_code in {400, 404}
    assert error_code(caught.value) in {"PlatformImageNotFound", "InvalidParameter"}


@pytest.mark.parametrize("password", ["short1!", "alllowercaseletters", "NoDigitsOrSymbols"])
def test_windows_needs_a_complex_admin_password(
    clients: Clients, rg: str, subnet_id: str, password: str
) -> None:
    image = reference("MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition")
    profile = {"computerName": "win", "adminUsername": "azureadmin", "adminPassword": password}
    with pytest.raises(HttpResponseError) as caught:
        create(clients, rg, subnet_id, image, profile)
    assert caught.value.status_code == 400
    assert error_code(caught.value) == "InvalidParameter"
    assert password not in str(caught.value)


def test_windows_without_a_password_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    image = reference("MicrosoftWindowsServer:WindowsServer:2019-datacenter-gensecond")
    with pytest.raises(HttpResponseError) as caught:
        create(clients, rg, subnet_id, image, {"computerName": "win", "adminUsername": "azureadmin"})
    assert (caught.value.status_code, error_code(caught.value)) == (400, "InvalidParameter")


def test_linux_needs_an_ssh_key_or_a_password(clients: Clients, rg: str, subnet_id: str) -> None:
    image = reference("Debian:debian-12:12-gen2")
    with pytest.raises(HttpResponseError) as caught:
        create(clients, rg, subnet_id, image, linux_os_profile("vm", ssh=False))
    assert (caught.value.status_code, error_code(caught.value)) == (400, "InvalidParameter")
    # Either one is enough.
    with_password = linux_os_profile("vm", ssh=False, password=COMPLEX_PASSWORD)
    assert create(clients, rg, subnet_id, image, with_password).properties.provisioning_state == "Succeeded"
    assert (
        create(clients, rg, subnet_id, image, linux_os_profile("vm")).properties.provisioning_state
        == "Succeeded"
    )
