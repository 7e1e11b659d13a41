#!/usr/bin/env python3
"""Walk the Learn exercise by hand against a running ARM endpoint, checking every answer.

Uses only the public Azure SDK (azure-mgmt-*, azure-identity, azure-core). Point it at a
running emulator with the environment `imagepipe emulator serve` prints:

    mkdir -p /tmp/em && imagepipe emulator serve --speed 10 --state /tmp/em/emulator.sqlite > /tmp/em.env &
    eval "$(grep ^export /tmp/em.env)"
    python scripts/learn_by_hand.py

Token buckets refill at ARM's rates times the server's speed: at speed 100 they refill
(1,000 writes/s) faster than one Python client can write, so the "429 under a burst"
check needs a server at speed 10 or lower.

It prints one line per check and exits 0 when all pass, 1 otherwise (2 when the
environment is incomplete). To check that a restart keeps the state, run it, restart
the server on the same state file, then run
`python scripts/learn_by_hand.py --after-restart <resource group printed by the first run>`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from azure.core import PipelineClient
from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, SansIOHTTPPolicy
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

SCOPE = "https://management.azure.com/.default"
REQUIRED_ENV = (
    "IMAGEPIPE_ENDPOINT",
    "IMAGEPIPE_CA_FILE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_SUBSCRIPTION_ID",
)
UBUNTU = {
    "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy",
    "sku": "22_04-lts-gen2",
    "version": "latest",
}
# An ed25519 public key made for this script; its private half was never kept.
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOu97pmUSPiNYH52XX6jGHBWWA+i54bOgl+RpUl6ECTF learn-by-hand"
LOCATION = "eastus"
OTHER_REGION = "westus"


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    passed: int = 0

    def check(self, name: str, condition: bool, detail: str = "") -> bool:
        if condition:
            self.passed += 1
            print(f"PASS  {name}", flush=True)
        else:
            self.failures.append(name)
            print(f"FAIL  {name}{': ' + detail if detail else ''}", flush=True)
        return condition

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        """Run an action that must succeed; a failure is reported with Azure's code and message."""
        try:
            result = action()
        except HttpResponseError as exc:
            self.check(name, False, f"{exc.status_code} {code_of(exc)}: {first_line(exc)}")
            return None
        except AzureError as exc:  # transport or polling trouble: still one line, not a traceback
            self.check(name, False, f"{type(exc).__name__}: {first_line(exc)}")
            return None
        self.check(name, True)
        return result

    def refused(self, name: str, action: Callable[[], Any], status: int, codes: set[str]) -> None:
        """Run an action that Azure refuses with `status` and one of `codes`."""
        try:
            action()
        except HttpResponseError as exc:
            got = (exc.status_code, code_of(exc))
            self.check(
                name, exc.status_code == status and got[1] in codes, f"got {got}, expected {status} {codes}"
            )
            return
        self.check(name, False, f"succeeded, expected {status} {codes}")


def code_of(exc: HttpResponseError) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(error, "code", None)


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


@dataclass
class Session:
    endpoint: str
    ca_file: str
    tenant: str
    client_id: str
    secret: str
    subscription: str
    credential: ClientSecretCredential
    resource: ResourceManagementClient
    network: NetworkManagementClient
    compute: ComputeManagementClient

    @classmethod
    def from_env(cls) -> Session:
        env = {name: os.environ[name] for name in REQUIRED_ENV}
        endpoint = env["IMAGEPIPE_ENDPOINT"].rstrip("/")
        ca = env["IMAGEPIPE_CA_FILE"]
        credential = ClientSecretCredential(
            env["AZURE_TENANT_ID"],
            env["AZURE_CLIENT_ID"],
            env["AZURE_CLIENT_SECRET"],
            authority=endpoint,
            disable_instance_discovery=True,
            connection_verify=ca,
        )
        options = {
            "base_url": endpoint,
            "credential_scopes": [SCOPE],
            "connection_verify": ca,
            "polling_interval": 1,
        }
        subscription = env["AZURE_SUBSCRIPTION_ID"]
        return cls(
            endpoint=endpoint,
            ca_file=ca,
            tenant=env["AZURE_TENANT_ID"],
            client_id=env["AZURE_CLIENT_ID"],
            secret=env["AZURE_CLIENT_SECRET"],
            subscription=subscription,
            credential=credential,
            resource=ResourceManagementClient(credential, subscription, **options),
            network=NetworkManagementClient(credential, subscription, **options),
            compute=ComputeManagementClient(credential, subscription, **options),
        )

    def raw(self, *, authenticated: bool, token: str | None = None) -> PipelineClient:
        """A bare azure-core pipeline (no retries) for status codes and headers."""
        policies: list[Any] = []
        if authenticated:
            policies.append(BearerTokenCredentialPolicy(self.credential, SCOPE))
        elif token is not None:
            policies.append(_FixedToken(token))
        return PipelineClient(self.endpoint, policies=policies)

    def send(self, client: PipelineClient, method: str, path: str, body: Any = None) -> Any:
        request = HttpRequest(method, self.endpoint + path, json=body)
        return client.send_request(request, connection_verify=self.ca_file)

    def rg_id(self, rg: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{rg}"

    def compute_id(self, rg: str, kind: str, name: str) -> str:
        return f"{self.rg_id(rg)}/providers/Microsoft.Compute/{kind}/{name}"


class _FixedToken(SansIOHTTPPolicy):
    """Sends a bearer token the server never issued."""

    def __init__(self, token: str) -> None:
        self.token = token

    def on_request(self, request: Any) -> None:
        request.http_request.headers["Authorization"] = f"Bearer {self.token}"


# -- the walk ---------------------------------------------------------------------------


def check_identity(s: Session, r: Report) -> None:
    token = r.step("token from the client-credentials endpoint", lambda: s.credential.get_token(SCOPE))
    r.check("token has an expiry", bool(token and token.expires_on > time.time()))
    other = ClientSecretCredential(
        "00000000-1111-2222-3333-444444444444",
        s.client_id,
        s.secret,
        authority=s.endpoint,
        disable_instance_discovery=True,
        connection_verify=s.ca_file,
    )
    r.step("token for any tenant", lambda: other.get_token(SCOPE))
    wrong = ClientSecretCredential(
        s.tenant,
        s.client_id,
        "wrong-secret",
        authority=s.endpoint,
        disable_instance_discovery=True,
        connection_verify=s.ca_file,
    )
    try:
        wrong.get_token(SCOPE)
        r.check("wrong client secret refused", False, "a token was issued")
    except ClientAuthenticationError:
        r.check("wrong client secret refused", True)

    groups = f"/subscriptions/{s.subscription}/resourcegroups?api-version=2025-04-01"
    for name, client in (
        ("401 without a token", s.raw(authenticated=False)),
        ("401 with a made-up token", s.raw(authenticated=False, token="made-up")),
    ):
        answer = s.send(client, "GET", groups)
        body = _json(answer)
        r.check(
            name,
            answer.status_code == 401 and bool((body.get("error") or {}).get("code")),
            f"{answer.status_code} {answer.text()[:120]}",
        )

    metadata = s.send(s.raw(authenticated=False), "GET", "/metadata/endpoints?api-version=2022-09-01")
    cloud = _json(metadata)
    cloud = cloud[0] if isinstance(cloud, list) and cloud else cloud
    r.check(
        "/metadata/endpoints for az cloud register",
        metadata.status_code == 200
        and isinstance(cloud, dict)
        and {"name", "authentication", "resourceManager", "suffixes"} <= set(cloud),
        metadata.text()[:120],
    )
    subs = s.send(s.raw(authenticated=True), "GET", "/subscriptions?api-version=2022-12-01")
    ids = [item.get("subscriptionId") for item in _json(subs).get("value", [])]
    r.check("GET /subscriptions lists the subscription", s.subscription in ids, str(ids))


def _json(answer: Any) -> Any:
    try:
        return answer.json()
    except ValueError:
        return {}


def create_network(s: Session, rg: str, location: str, vnet: str) -> str:
    body = {
        "location": location,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}}],
        },
    }
    s.network.virtual_networks.begin_create_or_update(rg, vnet, body).result()
    return f"{s.rg_id(rg)}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/default"


def create_nic(s: Session, rg: str, name: str, subnet: str, location: str = LOCATION) -> str:
    body = {
        "location": location,
        "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]},
    }
    return s.network.network_interfaces.begin_create_or_update(rg, name, body).result().id


def vm_body(
    name: str, nic: str, image: dict[str, Any], location: str = LOCATION, data_disks: int = 0
) -> dict[str, Any]:
    storage: dict[str, Any] = {
        "imageReference": image,
        "osDisk": {
            "name": f"{name}-osdisk",
            "createOption": "FromImage",
            "managedDisk": {"storageAccountType": "Standard_LRS"},
        },
    }
    if data_disks:
        storage["dataDisks"] = [
            {"lun": lun, "name": f"{name}-data{lun}", "createOption": "Empty", "diskSizeGB": 8}
            for lun in range(data_disks)
        ]
    return {
        "location": location,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": storage,
            "osProfile": {
                "computerName": name,
                "adminUsername": "azureuser",
                "linuxConfiguration": {
                    "disablePasswordAuthentication": True,
                    "ssh": {
                        "publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": SSH_KEY}]
                    },
                },
            },
            "networkProfile": {"networkInterfaces": [{"id": nic, "properties": {"primary": True}}]},
        },
    }


def statuses(s: Session, rg: str, vm: str) -> list[str]:
    return [status.code for status in (s.compute.virtual_machines.instance_view(rg, vm).statuses or [])]


def walk(s: Session, r: Report, rg: str, burst: int) -> None:
    vms = s.compute.virtual_machines
    r.step("resource group", lambda: s.resource.resource_groups.create_or_update(rg, {"location": LOCATION}))
    subnet = r.step("virtual network with a subnet", lambda: create_network(s, rg, LOCATION, "learn-vnet"))
    if subnet is None:
        return
    nic = r.step("network interface", lambda: create_nic(s, rg, "source-nic", subnet))
    source = r.step(
        "VM from a marketplace URN (latest)",
        lambda: vms.begin_create_or_update(
            rg, "source", vm_body("source", nic, UBUNTU, data_disks=1)
        ).result(),
    )
    if source is None:
        return
    r.check("VM provisioningState Succeeded", source.properties.provisioning_state == "Succeeded")
    exact = source.properties.storage_profile.image_reference.exact_version
    r.check("'latest' resolved to a version", bool(exact) and exact != "latest", str(exact))
    r.check("VM is running", "PowerState/running" in statuses(s, rg, "source"))

    r.refused(
        "generalize of a running VM refused",
        lambda: vms.generalize(rg, "source"),
        409,
        {"OperationNotAllowed"},
    )
    image_body = {
        "location": LOCATION,
        "properties": {"sourceVirtualMachine": {"id": s.compute_id(rg, "virtualMachines", "source")}},
    }
    r.refused(
        "image from a VM that is not generalized refused",
        lambda: s.compute.images.begin_create_or_update(rg, "refused-image", image_body).result(),
        409,
        {"OperationNotAllowed"},
    )
    result = r.step(
        "run command: waagent -deprovision",
        lambda: vms.begin_run_command(
            rg, "source", {"commandId": "RunShellScript", "script": ["sudo waagent -deprovision+user -force"]}
        ).result(),
    )
    codes = [status.code for status in (result.value if result else [])]
    r.check(
        "run command answers stdout and stderr",
        {"ComponentStatus/StdOut/succeeded", "ComponentStatus/StdErr/succeeded"} <= set(codes),
        str(codes),
    )
    r.step("deallocate", lambda: vms.begin_deallocate(rg, "source").result())
    r.check("VM is deallocated", "PowerState/deallocated" in statuses(s, rg, "source"))
    r.step("generalize", lambda: vms.generalize(rg, "source"))
    r.check("VM is generalized", "OSState/generalized" in statuses(s, rg, "source"))
    r.refused(
        "start of a generalized VM refused",
        lambda: vms.begin_start(rg, "source").result(),
        409,
        {"OperationNotAllowed"},
    )

    image = r.step(
        "image from the VM",
        lambda: s.compute.images.begin_create_or_update(rg, "learn-image", image_body).result(),
    )
    if image is None:
        return
    storage = image.properties.storage_profile
    r.check(
        "image holds all the VM's disks", storage.os_disk is not None and len(storage.data_disks or []) == 1
    )
    clone_nic = r.step("NIC for the new VM", lambda: create_nic(s, rg, "clone-nic", subnet))
    clone = r.step(
        "new VM from the image",
        lambda: vms.begin_create_or_update(
            rg, "clone", vm_body("clone", clone_nic, {"id": image.id})
        ).result(),
    )
    r.check("new VM provisioned", bool(clone) and clone.properties.provisioning_state == "Succeeded")

    west_subnet = create_network(s, rg, OTHER_REGION, "west-vnet")
    west_nic = create_nic(s, rg, "west-nic", west_subnet, OTHER_REGION)
    r.refused(
        "managed image used from another region refused",
        lambda: vms.begin_create_or_update(
            rg, "west", vm_body("west", west_nic, {"id": image.id}, OTHER_REGION)
        ).result(),
        400,
        {"InvalidParameter"},
    )
    changed = {
        "location": LOCATION,
        "properties": {"sourceVirtualMachine": {"id": s.compute_id(rg, "virtualMachines", "clone")}},
    }
    r.refused(
        "changing an image's source refused",
        lambda: s.compute.images.begin_create_or_update(rg, "learn-image", changed).result(),
        409,
        {"PropertyChangeNotAllowed"},
    )

    snapshots(s, r, rg, subnet)
    gallery(s, r, rg, image.id)
    throttling(s, r, rg, burst)
    print(f"INFO  resource group for --after-restart: {rg}", flush=True)


def snapshots(s: Session, r: Report, rg: str, subnet: str) -> None:
    nic = create_nic(s, rg, "data-nic", subnet)
    vms = s.compute.virtual_machines
    r.step(
        "VM with two data disks",
        lambda: vms.begin_create_or_update(rg, "data", vm_body("data", nic, UBUNTU, data_disks=2)).result(),
    )
    for disk in ("data-osdisk", "data-data0", "data-data1"):
        body = {
            "location": LOCATION,
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": s.compute_id(rg, "disks", disk)}
            },
        }
        snap = r.step(
            f"snapshot of {disk}",
            lambda body=body, disk=disk: s.compute.snapshots.begin_create_or_update(
                rg, f"{disk}-snap", body
            ).result(),
        )
        r.check(
            f"snapshot of {disk} succeeded", bool(snap) and snap.properties.provisioning_state == "Succeeded"
        )
    r.refused(
        "delete of an attached disk refused",
        lambda: s.compute.disks.begin_delete(rg, "data-data0").result(),
        409,
        {"OperationNotAllowed"},
    )
    r.refused(
        "delete of a NIC in use refused",
        lambda: s.network.network_interfaces.begin_delete(rg, "data-nic").result(),
        400,
        {"NicInUse"},
    )


def gallery(s: Session, r: Report, rg: str, image_id: str) -> None:
    compute = s.compute
    r.step(
        "gallery",
        lambda: compute.galleries.begin_create_or_update(
            rg, "learngallery", {"location": LOCATION, "properties": {}}
        ).result(),
    )
    definition = {
        "location": LOCATION,
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "learn", "offer": "web", "sku": "gen2"},
        },
    }
    r.step(
        "gallery image definition",
        lambda: compute.gallery_images.begin_create_or_update(rg, "learngallery", "web", definition).result(),
    )
    version = {
        "location": LOCATION,
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    {"name": LOCATION, "regionalReplicaCount": 1},
                    {"name": OTHER_REGION, "regionalReplicaCount": 2},
                ]
            },
            "storageProfile": {"source": {"id": image_id}},
        },
    }
    r.step(
        "gallery image version replicated to two regions",
        lambda: compute.gallery_image_versions.begin_create_or_update(
            rg, "learngallery", "web", "1.0.0", version
        ).result(),
    )
    deadline = time.monotonic() + 600
    status = None
    while time.monotonic() < deadline:
        got = compute.gallery_image_versions.get(
            rg, "learngallery", "web", "1.0.0", expand="ReplicationStatus"
        )
        status = got.properties.replication_status
        if status and status.aggregated_state in ("Completed", "Failed"):
            break
        time.sleep(1)
    regions = {
        entry.region.replace(" ", "").lower(): entry.state for entry in (status.summary if status else [])
    }
    r.check(
        "replication completed in both regions",
        regions == {LOCATION: "Completed", OTHER_REGION: "Completed"},
        str(regions),
    )
    other_source = {
        **version,
        "properties": {
            **version["properties"],
            "storageProfile": {"source": {"id": image_id.replace("learn-image", "other-image")}},
        },
    }
    r.refused(
        "changing a gallery version's source refused",
        lambda: compute.gallery_image_versions.begin_create_or_update(
            rg, "learngallery", "web", "1.0.0", other_source
        ).result(),
        409,
        {"PropertyChangeNotAllowed"},
    )


def throttling(s: Session, r: Report, rg: str, burst: int) -> None:
    """A burst of writes without retries meets 429; the SDK's default retry policy then gets through."""
    client = s.raw(authenticated=True)
    path = f"/subscriptions/{s.subscription}/resourcegroups/{rg}?api-version=2025-04-01"
    first = s.send(client, "PUT", path, {"location": LOCATION})
    r.check(
        "x-ms-ratelimit-remaining-subscription-writes on answers",
        "x-ms-ratelimit-remaining-subscription-writes" in first.headers,
        str(dict(first.headers))[:200],
    )

    def write(_: int) -> Any:
        return s.send(client, "PUT", path, {"location": LOCATION})

    throttled = None
    with ThreadPoolExecutor(max_workers=16) as pool:
        for answer in pool.map(write, range(burst)):
            if answer.status_code == 429 and throttled is None:
                throttled = answer
    r.check(
        "429 under a burst of writes",
        throttled is not None,
        f"no 429 in {burst} writes (throttling off, or a speed so high the bucket refills faster: try --speed 10)",
    )
    if throttled is not None:
        r.check("429 carries Retry-After", float(throttled.headers.get("Retry-After", "0")) > 0)
    names = [f"burst-{uuid.uuid4().hex[:6]}" for _ in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(
            pool.map(
                lambda n: _try(
                    lambda: s.resource.resource_groups.create_or_update(n, {"location": LOCATION})
                ),
                names,
            )
        )
    r.check(
        "the SDK's retry policy recovers after the burst",
        all(outcomes),
        f"{outcomes.count(False)} writes failed",
    )


def _try(action: Callable[[], Any]) -> bool:
    try:
        action()
    except HttpResponseError:
        return False
    return True


def after_restart(s: Session, r: Report, rg: str) -> None:
    vms = s.compute.virtual_machines
    r.step("resource group still there", lambda: s.resource.resource_groups.get(rg))
    for vm in ("source", "clone", "data"):
        got = r.step(f"VM {vm} still there", lambda vm=vm: vms.get(rg, vm))
        r.check(f"VM {vm} still Succeeded", bool(got) and got.properties.provisioning_state == "Succeeded")
    r.check("source is still generalized", "OSState/generalized" in statuses(s, rg, "source"))
    r.step("image still there", lambda: s.compute.images.get(rg, "learn-image"))
    r.step("snapshots still there", lambda: s.compute.snapshots.get(rg, "data-osdisk-snap"))
    r.step(
        "gallery version still there",
        lambda: s.compute.gallery_image_versions.get(rg, "learngallery", "web", "1.0.0"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resource-group", help="resource group to create (default: a new random name)")
    parser.add_argument(
        "--burst", type=int, default=1500, help="writes in the throttling burst (default 1500)"
    )
    parser.add_argument(
        "--after-restart", metavar="RG", help="only check that a previous run's resources survived a restart"
    )
    args = parser.parse_args(argv)
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        print(
            f"missing environment: {', '.join(missing)} (eval the export lines of `imagepipe emulator serve`)",
            file=sys.stderr,
        )
        return 2
    # The wrong-secret check makes azure-identity log a warning; the check's own line says enough.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    session = Session.from_env()
    report = Report()
    started = time.monotonic()
    try:
        check_identity(session, report)
        if args.after_restart:
            after_restart(session, report, args.after_restart)
        else:
            walk(session, report, args.resource_group or f"learn-{uuid.uuid4().hex[:8]}", args.burst)
    except AzureError as exc:
        report.check("the walk ran to its end", False, f"{type(exc).__name__}: {first_line(exc)}")
    took = time.monotonic() - started
    print(f"{report.passed} passed, {len(report.failures)} failed in {took:.1f}s", flush=True)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
