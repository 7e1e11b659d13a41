"""Building blocks for driving the emulator through the public Azure SDK.

Everything here talks to the emulator the way a real client would: a token from
`ClientSecretCredential`, the azure-mgmt-* clients over HTTPS, or raw HTTP with
that token where a test needs status codes and headers the SDK hides.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from imagepipe.azure.target import PreferRetryAfterMs

ARM_SCOPE = "https://management.azure.com/.default"
UBUNTU_2204 = {
    "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy",
    "sku": "22_04-lts-gen2",
    "version": "latest",
}
WINDOWS_2022 = {
    "publisher": "MicrosoftWindowsServer",
    "offer": "WindowsServer",
    "sku": "2022-datacenter-azure-edition",
    "version": "latest",
}
# Test-only credentials: they protect nothing outside the emulator.
ADMIN_USER = "azureuser"
COMPLEX_PASSWORD = "Emul4tor!Pass"
DEPROVISION_LINUX = "sudo waagent -deprovision+user -force"
SYSPREP_SHUTDOWN = r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet"

API = {
    "compute": "2026-04-01",
    "disks": "2026-03-02",
    "gallery": "2026-03-03",
    "network": "2026-03-01",
    "resources": "2025-04-01",
}
BY_PATH = "by-path"  # Arm.request's default: the version the SDK sends for the path's type


def api_version_for(path: str) -> str:
    """The api-version the pinned SDK client sends for the resource type `path` addresses."""
    low = path.lower().split("?")[0]
    if "/providers/microsoft.network/" in low:
        return API["network"]
    if "/providers/microsoft.compute/" not in low:
        return API["resources"]
    if "/galleries" in low:
        return API["gallery"]
    if "/providers/microsoft.compute/disks" in low or "/providers/microsoft.compute/snapshots" in low:
        return API["disks"]
    return API["compute"]


def _new_ssh_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode() + " emulator-test"


SSH_PUBLIC_KEY = _new_ssh_public_key()


def unique(prefix: str) -> str:
    """A resource name no other test uses (tests share module-scoped emulators)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- credentials and clients -------------------------------------------------------------


def make_credential(
    em: Any, *, secret: str | None = None, tenant: str | None = None
) -> ClientSecretCredential:
    return ClientSecretCredential(
        tenant or em.tenant_id,
        em.client_id,
        em.client_secret if secret is None else secret,
        authority=em.endpoint,
        disable_instance_discovery=True,
        connection_verify=str(em.ca_file),
    )


@dataclass(frozen=True)
class Clients:
    credential: ClientSecretCredential
    resource: ResourceManagementClient
    network: NetworkManagementClient
    compute: ComputeManagementClient
    subscription_id: str


def client_options(em: Any, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "base_url": em.endpoint,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": str(em.ca_file),
        "polling_interval": 0.05,
        # The emulator's exact (speed-scaled) delay is retry-after-ms; Retry-After is whole seconds.
        "per_retry_policies": [PreferRetryAfterMs()],
    }
    options.update(overrides)
    return options


def make_clients(em: Any, **overrides: Any) -> Clients:
    credential = make_credential(em)
    options = client_options(em, **overrides)
    return Clients(
        credential=credential,
        resource=ResourceManagementClient(credential, em.subscription_id, **options),
        network=NetworkManagementClient(credential, em.subscription_id, **options),
        compute=ComputeManagementClient(credential, em.subscription_id, **options),
        subscription_id=em.subscription_id,
    )


def bearer_token(credential: ClientSecretCredential) -> str:
    return credential.get_token(ARM_SCOPE).token


# -- raw HTTP ----------------------------------------------------------------------------


class Arm:
    """Raw ARM requests with a bearer token, for status codes and headers.

    `verify` goes with every request: a session-level value would lose to REQUESTS_CA_BUNDLE.
    """

    def __init__(self, em: Any, token: str | None) -> None:
        self.em = em
        self.verify = str(em.ca_file)
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else self.em.endpoint.rstrip("/") + path

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        api_version: str | None = BY_PATH,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        query = dict(params or {})
        if api_version == BY_PATH:
            api_version = api_version_for(path)
        if api_version is not None and "api-version=" not in path:
            query["api-version"] = api_version
        return self.session.request(
            method, self.url(path), json=body, params=query, verify=self.verify, timeout=30
        )


def admin(em: Any, method: str, path: str, body: Any = None) -> requests.Response:
    """The emulator's admin API (no token)."""
    return requests.request(
        method, em.endpoint.rstrip("/") + "/_emulator/" + path, json=body, verify=str(em.ca_file), timeout=30
    )


def set_clock(em: Any, *, advance: float = 0.0, paused: bool | None = None) -> dict[str, Any]:
    """Move the emulator's clock through the admin API: skip `advance` simulated seconds, pause or resume."""
    body: dict[str, Any] = {"advance": advance}
    if paused is not None:
        body["paused"] = paused
    answer = admin(em, "POST", "clock", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def stats(em: Any) -> dict[str, Any]:
    response = admin(em, "GET", "stats")
    response.raise_for_status()
    return response.json()


def set_faults(em: Any, rules: list[dict[str, Any]], *, seed: int = 7) -> None:
    response = admin(em, "POST", "faults", {"rules": rules, "seed": seed})
    assert response.status_code in (200, 204), response.text


def clear_faults(em: Any) -> None:
    set_faults(em, [])


# -- errors ------------------------------------------------------------------------------


def error_code(exc: HttpResponseError) -> str | None:
    """The ARM error code of a failed call or a failed LRO."""
    error = getattr(exc, "error", None)
    if error is not None and getattr(error, "code", None):
        return error.code
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = json.loads(response.text())
        except (ValueError, TypeError):
            return None
        return (body.get("error") or {}).get("code")
    return None


# -- waiting -----------------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy; a bound on waiting, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


# -- resource builders (bodies in the REST wire shape) --------------------------------------


def create_resource_group(clients: Clients, name: str, location: str = "eastus") -> str:
    clients.resource.resource_groups.create_or_update(name, {"location": location})
    return name


def create_subnet(
    clients: Clients, rg: str, location: str = "eastus", vnet: str = "vnet", subnet: str = "default"
) -> str:
    body = {
        "location": location,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": subnet, "properties": {"addressPrefix": "10.0.0.0/24"}}],
        },
    }
    clients.network.virtual_networks.begin_create_or_update(rg, vnet, body).result()
    return (
        f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}"
        f"/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"
    )


def nic_body(location: str, subnet_id: str) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "ipConfigurations": [
                {
                    "name": "ipconfig1",
                    "properties": {"subnet": {"id": subnet_id}, "privateIPAllocationMethod": "Dynamic"},
                }
            ]
        },
    }


def create_nic(clients: Clients, rg: str, name: str, subnet_id: str, location: str = "eastus") -> str:
    nic = clients.network.network_interfaces.begin_create_or_update(
        rg, name, nic_body(location, subnet_id)
    ).result()
    return nic.id


def linux_os_profile(name: str, *, ssh: bool = True, password: str | None = None) -> dict[str, Any]:
    profile: dict[str, Any] = {"computerName": name, "adminUsername": ADMIN_USER}
    if ssh:
        profile["linuxConfiguration"] = {
            "disablePasswordAuthentication": password is None,
            "ssh": {
                "publicKeys": [
                    {"path": f"/home/{ADMIN_USER}/.ssh/authorized_keys", "keyData": SSH_PUBLIC_KEY}
                ]
            },
        }
    if password is not None:
        profile["adminPassword"] = password
    return profile


def vm_body(
    name: str,
    nic_id: str,
    image_reference: dict[str, Any],
    *,
    location: str = "eastus",
    os_profile: dict[str, Any] | None = None,
    data_disk_sizes: Iterable[int] = (),
    size: str = "Standard_B2s",
    security_type: str | None = "Standard",
) -> dict[str, Any]:
    """A VM's body; Standard unless told (managed images hold only Standard VMs; None: Azure's default)."""
    data_disks = [
        {"lun": lun, "createOption": "Empty", "diskSizeGB": size_gb, "name": f"{name}-data{lun}"}
        for lun, size_gb in enumerate(data_disk_sizes)
    ]
    storage: dict[str, Any] = {
        "imageReference": image_reference,
        "osDisk": {
            "name": f"{name}-osdisk",
            "createOption": "FromImage",
            "managedDisk": {"storageAccountType": "Standard_LRS"},
        },
    }
    if data_disks:
        storage["dataDisks"] = data_disks
    body: dict[str, Any] = {
        "location": location,
        "properties": {
            "hardwareProfile": {"vmSize": size},
            "storageProfile": storage,
            "osProfile": os_profile if os_profile is not None else linux_os_profile(name),
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
        },
    }
    if security_type:
        body["properties"]["securityProfile"] = {"securityType": security_type}
    return body


def create_vm(
    clients: Clients,
    rg: str,
    name: str,
    subnet_id: str,
    *,
    image_reference: dict[str, Any] | None = None,
    location: str = "eastus",
    os_profile: dict[str, Any] | None = None,
    data_disk_sizes: Iterable[int] = (),
    security_type: str | None = "Standard",
) -> Any:
    """A NIC and a VM (Ubuntu 22.04, Standard security, unless told otherwise); returns the created VM."""
    nic_id = create_nic(clients, rg, f"{name}-nic", subnet_id, location)
    body = vm_body(
        name,
        nic_id,
        image_reference or UBUNTU_2204,
        location=location,
        os_profile=os_profile,
        data_disk_sizes=data_disk_sizes,
        security_type=security_type,
    )
    return clients.compute.virtual_machines.begin_create_or_update(rg, name, body).result()


def run_script(
    clients: Clients, rg: str, vm: str, lines: list[str], *, command_id: str = "RunShellScript"
) -> Any:
    """The Run Command action; returns its RunCommandResult."""
    body = {"commandId": command_id, "script": lines}
    return clients.compute.virtual_machines.begin_run_command(rg, vm, body).result()


def statuses(instance_view: Any) -> list[str]:
    return [status.code for status in (instance_view.statuses or [])]


def power_state(clients: Clients, rg: str, vm: str) -> str | None:
    view = clients.compute.virtual_machines.instance_view(rg, vm)
    return next((code for code in statuses(view) if code.startswith("PowerState/")), None)


def generalize_in_place(clients: Clients, rg: str, vm: str, *, deprovision: bool = True) -> None:
    """The Learn exercise's capture: deprovision (optionally), deallocate, generalize."""
    if deprovision:
        run_script(clients, rg, vm, [DEPROVISION_LINUX])
    clients.compute.virtual_machines.begin_deallocate(rg, vm).result()
    clients.compute.virtual_machines.generalize(rg, vm)


def vm_id(clients: Clients, rg: str, vm: str) -> str:
    return (
        f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}"
        f"/providers/Microsoft.Compute/virtualMachines/{vm}"
    )


def image_from_vm(clients: Clients, rg: str, name: str, source_vm: str, location: str = "eastus") -> Any:
    body = {
        "location": location,
        "properties": {"sourceVirtualMachine": {"id": vm_id(clients, rg, source_vm)}},
    }
    return clients.compute.images.begin_create_or_update(rg, name, body).result()


def image_from_blob(
    clients: Clients,
    rg: str,
    name: str,
    location: str = "eastus",
    os_type: str = "Linux",
    hyper_v: str = "V1",
) -> Any:
    body = {
        "location": location,
        "properties": {
            "hyperVGeneration": hyper_v,
            "storageProfile": {
                "osDisk": {
                    "osType": os_type,
                    "osState": "Generalized",
                    "blobUri": f"https://emulatortest.blob.core.windows.net/vhds/{name}.vhd",
                }
            },
        },
    }
    return clients.compute.images.begin_create_or_update(rg, name, body).result()


def captured_image(clients: Clients, rg: str, subnet_id: str, name: str, *, deprovision: bool = True) -> Any:
    """A VM from the marketplace, generalized in place and captured as a managed image."""
    source = f"{name}-src"
    create_vm(clients, rg, source, subnet_id)
    generalize_in_place(clients, rg, source, deprovision=deprovision)
    return image_from_vm(clients, rg, name, source)
