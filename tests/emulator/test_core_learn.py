"""Smoke test: the Learn exercise by hand through the real SDK against a fast emulator."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from imagepipe.azure.target import PreferRetryAfterMs
from imagepipe.emulator import Emulator, start_emulator

UBUNTU = {
    "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy",
    "sku": "22_04-lts-gen2",
    "version": "latest",
}
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7example smoke-test"


@pytest.fixture(scope="module")
def em(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("core"), speed=2000, throttling=False) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def sdk(em: Emulator) -> tuple[ResourceManagementClient, NetworkManagementClient, ComputeManagementClient]:
    ca = str(em.ca_file)
    credential = ClientSecretCredential(
        em.tenant_id,
        em.client_id,
        em.client_secret,
        authority=em.endpoint,
        disable_instance_discovery=True,
        connection_verify=ca,
    )
    options = {
        "base_url": em.endpoint,
        "credential_scopes": ["https://management.azure.com/.default"],
        "connection_verify": ca,
        # The emulator's exact (speed-scaled) delay is retry-after-ms; Retry-After is whole seconds.
        "per_retry_policies": [PreferRetryAfterMs()],
    }
    return (
        ResourceManagementClient(credential, em.subscription_id, **options),
        NetworkManagementClient(credential, em.subscription_id, **options),
        ComputeManagementClient(credential, em.subscription_id, **options),
    )


def admin(em: Emulator, path: str) -> dict:
    context = ssl.create_default_context(cafile=str(em.ca_file))
    with urllib.request.urlopen(em.url(path), context=context) as answer:
        return json.loads(answer.read())


def vm_body(nic_id: str, image: dict, *, password: str | None = None) -> dict:
    os_profile: dict = {"computerName": "smoke", "adminUsername": "azureuser"}
    if password:
        os_profile["adminPassword"] = password
    else:
        os_profile["linuxConfiguration"] = {
            "disablePasswordAuthentication": True,
            "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": SSH_KEY}]},
        }
    return {
        "location": "westus",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            # The Learn exercise's managed image needs a Standard source (no Trusted Launch).
            "securityProfile": {"securityType": "Standard"},
            "storageProfile": {"imageReference": image},
            "osProfile": os_profile,
            "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
        },
    }


def test_learn_exercise_end_to_end(em: Emulator, sdk: tuple) -> None:
    resources, network, compute = sdk
    resources.resource_groups.create_or_update("learn", {"location": "westus"})
    vnet = network.virtual_networks.begin_create_or_update(
        "learn",
        "vnet",
        {
            "location": "westus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": "10.1.0.0/24"}}],
            },
        },
    ).result()
    subnet_id = vnet.subnets[0].id

    def nic(name: str) -> str:
        body = {
            "location": "westus",
            "properties": {
                "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}]
            },
        }
        return network.network_interfaces.begin_create_or_update("learn", name, body).result().id

    source = compute.virtual_machines.begin_create_or_update(
        "learn", "source", vm_body(nic("source-nic"), UBUNTU)
    ).result()
    assert source.provisioning_state == "Succeeded"

    result = compute.virtual_machines.begin_run_command(
        "learn",
        "source",
        {"commandId": "RunShellScript", "script": ["sudo waagent -deprovision+user -force"]},
    ).result()
    assert [s.code for s in result.value] == [
        "ComponentStatus/StdOut/succeeded",
        "ComponentStatus/StdErr/succeeded",
    ]

    with pytest.raises(HttpResponseError) as running:
        compute.virtual_machines.generalize("learn", "source")
    assert running.value.status_code == 409 and running.value.error.code == "OperationNotAllowed"

    compute.virtual_machines.begin_deallocate("learn", "source").result()
    compute.virtual_machines.generalize("learn", "source")
    codes = [s.code for s in compute.virtual_machines.instance_view("learn", "source").statuses]
    assert "OSState/generalized" in codes and "PowerState/deallocated" in codes

    with pytest.raises(HttpResponseError) as start:
        compute.virtual_machines.begin_start("learn", "source").result()
    assert start.value.status_code == 409

    image = compute.images.begin_create_or_update(
        "learn", "golden", {"location": "westus", "properties": {"sourceVirtualMachine": {"id": source.id}}}
    ).result()
    assert image.provisioning_state == "Succeeded"
    assert image.storage_profile.os_disk.os_state == "Generalized"

    clone = compute.virtual_machines.begin_create_or_update(
        "learn", "clone", vm_body(nic("clone-nic"), {"id": image.id})
    ).result()
    assert clone.provisioning_state == "Succeeded"

    journal = admin(em, f"/_emulator/journal?resource={source.id}")["value"]
    assert [e["name"] for e in journal].count("VirtualMachines_Generalize") == 1
    stats = admin(em, "/_emulator/stats")
    assert stats["resources"]["Microsoft.Compute/virtualMachines"] == 2
    assert stats["operations"]["VirtualMachines_RunCommand"] == 1


def test_image_captured_without_deprovision_fails_provisioning(sdk: tuple) -> None:
    resources, network, compute = sdk
    resources.resource_groups.create_or_update("careless", {"location": "westus"})
    vnet = network.virtual_networks.begin_create_or_update(
        "careless",
        "vnet",
        {
            "location": "westus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.2.0.0/16"]},
                "subnets": [{"name": "s", "properties": {"addressPrefix": "10.2.0.0/24"}}],
            },
        },
    ).result()

    def nic(name: str) -> str:
        body = {
            "location": "westus",
            "properties": {
                "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": vnet.subnets[0].id}}}]
            },
        }
        return network.network_interfaces.begin_create_or_update("careless", name, body).result().id

    source = compute.virtual_machines.begin_create_or_update(
        "careless", "src", vm_body(nic("src-nic"), UBUNTU)
    ).result()
    compute.virtual_machines.begin_deallocate("careless", "src").result()
    compute.virtual_machines.generalize("careless", "src")
    image = compute.images.begin_create_or_update(
        "careless", "img", {"location": "westus", "properties": {"sourceVirtualMachine": {"id": source.id}}}
    ).result()
    with pytest.raises(HttpResponseError) as failed:
        compute.virtual_machines.begin_create_or_update(
            "careless", "vm", vm_body(nic("vm-nic"), {"id": image.id})
        ).result()
    assert failed.value.error.code == "OSProvisioningTimedOut"
    assert compute.virtual_machines.get("careless", "vm").provisioning_state == "Failed"


def test_state_survives_restart(tmp_path: Path) -> None:
    with start_emulator(tmp_path, speed=2000, throttling=False) as first:
        ca = str(first.ca_file)
        credential = ClientSecretCredential(
            first.tenant_id,
            first.client_id,
            first.client_secret,
            authority=first.endpoint,
            disable_instance_discovery=True,
            connection_verify=ca,
        )
        client = ResourceManagementClient(
            credential,
            first.subscription_id,
            base_url=first.endpoint,
            credential_scopes=["https://management.azure.com/.default"],
            connection_verify=ca,
        )
        client.resource_groups.create_or_update("kept", {"location": "eastus", "tags": {"k": "v"}})
    with start_emulator(tmp_path, speed=2000, throttling=False) as second:
        assert second.ca_file.read_bytes() == Path(ca).read_bytes()
        credential = ClientSecretCredential(
            second.tenant_id,
            second.client_id,
            second.client_secret,
            authority=second.endpoint,
            disable_instance_discovery=True,
            connection_verify=ca,
        )
        client = ResourceManagementClient(
            credential,
            second.subscription_id,
            base_url=second.endpoint,
            credential_scopes=["https://management.azure.com/.default"],
            connection_verify=ca,
        )
        assert client.resource_groups.get("kept").tags == {"k": "v"}


def test_default_azure_credential_works_from_the_exported_environment(
    em: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential

    for name, value in em.env().items():
        monkeypatch.setenv(name, value)
    credential = DefaultAzureCredential(disable_instance_discovery=True, connection_verify=str(em.ca_file))
    client = ResourceManagementClient(
        credential,
        em.subscription_id,
        base_url=em.endpoint,
        credential_scopes=["https://management.azure.com/.default"],
    )
    client.resource_groups.create_or_update("from-env", {"location": "westus"})
    assert "from-env" in {group.name for group in client.resource_groups.list()}
