"""Smoke tests of fan-out behaviour: image limits, gallery replication, scale sets, owned-resource lookup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from imagepipe.emulator import Emulator, start_emulator

from .helpers import api_version_for

UBUNTU = {
    "publisher": "Canonical",
    "offer": "0001-com-ubuntu-server-jammy",
    "sku": "22_04-lts-gen2",
    "version": "latest",
}
SSH = {
    "ssh": {
        "publicKeys": [{"path": "/home/u/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAAC3Nza smoke"}]
    }
}


class Arm:
    """Raw ARM calls with a token from the emulator, for status codes the SDK hides."""

    def __init__(self, em: Emulator) -> None:
        self.em = em
        self.session = requests.Session()
        self.ca = str(em.ca_file)  # per request: a session-level verify loses to REQUESTS_CA_BUNDLE
        token = self.session.post(
            em.url(f"/{em.tenant_id}/oauth2/v2.0/token"),
            data={
                "grant_type": "client_credentials",
                "client_id": em.client_id,
                "client_secret": em.client_secret,
                "scope": "https://management.azure.com/.default",
            },
            verify=self.ca,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.group = f"/subscriptions/{em.subscription_id}/resourceGroups"

    def call(self, method: str, path: str, body: dict | None = None, **params: str) -> requests.Response:
        url = path if path.startswith("https://") else self.em.url(path)
        return self.session.request(
            method,
            url,
            json=body,
            params={"api-version": api_version_for(path), **params}
            if not path.startswith("https://")
            else None,
            verify=self.ca,
        )

    def wait(self, response: requests.Response) -> dict:
        """Poll Azure-AsyncOperation until the operation ends; answer the status body."""
        assert response.status_code in (200, 201, 202), response.text
        url = response.headers["Azure-AsyncOperation"]
        while True:
            status = self.call("GET", url).json()
            if status["status"] != "InProgress":
                return status
            # retry-after-ms is the emulator's exact delay; Retry-After is whole seconds.
            time.sleep(int(self.call("GET", url).headers.get("retry-after-ms", "10")) / 1000)

    def rg(self, name: str, location: str = "westus") -> str:
        assert self.call("PUT", f"{self.group}/{name}", {"location": location}).status_code in (200, 201)
        return f"{self.group}/{name}/providers"

    def network(self, rg: str, location: str = "westus") -> str:
        body = {
            "location": location,
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "s", "properties": {"addressPrefix": "10.0.0.0/20"}}],
            },
        }
        self.wait(self.call("PUT", f"{rg}/Microsoft.Network/virtualNetworks/net-{location}", body))
        return f"{rg}/Microsoft.Network/virtualNetworks/net-{location}/subnets/s"

    def nic(self, rg: str, name: str, subnet: str, location: str = "westus") -> str:
        body = {
            "location": location,
            "properties": {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet}}}]},
        }
        self.wait(self.call("PUT", f"{rg}/Microsoft.Network/networkInterfaces/{name}", body))
        return f"{rg}/Microsoft.Network/networkInterfaces/{name}"

    def vm(
        self, rg: str, name: str, nic: str, image: dict, location: str = "westus", tags: dict | None = None
    ) -> requests.Response:
        body = {
            "location": location,
            "tags": tags or {},
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_B2s"},
                "securityProfile": {"securityType": "Standard"},  # captured to managed images
                "storageProfile": {"imageReference": image},
                "osProfile": {"adminUsername": "u", "linuxConfiguration": SSH},
                "networkProfile": {"networkInterfaces": [{"id": nic}]},
            },
        }
        return self.call("PUT", f"{rg}/Microsoft.Compute/virtualMachines/{name}", body)

    def golden_image(self, rg: str, subnet: str, location: str = "westus") -> tuple[str, str]:
        """A deprovisioned, generalized source VM and the managed image made from it."""
        nic = self.nic(rg, f"src-nic-{location}", subnet, location)
        vm = f"{rg}/Microsoft.Compute/virtualMachines/src-{location}"
        assert self.wait(self.vm(rg, f"src-{location}", nic, UBUNTU, location))["status"] == "Succeeded"
        script = {"commandId": "RunShellScript", "script": ["waagent -deprovision+user -force"]}
        assert self.wait(self.call("POST", f"{vm}/runCommand", script))["status"] == "Succeeded"
        assert self.wait(self.call("POST", f"{vm}/deallocate"))["status"] == "Succeeded"
        assert self.call("POST", f"{vm}/generalize").status_code == 200
        image = f"{rg}/Microsoft.Compute/images/golden-{location}"
        created = self.call(
            "PUT", image, {"location": location, "properties": {"sourceVirtualMachine": {"id": vm}}}
        )
        assert self.wait(created)["status"] == "Succeeded"
        return vm, image


@pytest.fixture(scope="module")
def em(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("fanout"), speed=2000, throttling=False) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def arm(em: Emulator) -> Arm:
    return Arm(em)


def test_more_than_20_concurrent_creates_from_one_managed_image_fail(tmp_path: Path) -> None:
    with start_emulator(tmp_path, speed=2000, throttling=False) as fast:  # prepare quickly
        arm = Arm(fast)
        rg = arm.rg("limit")
        subnet = arm.network(rg)
        _, image = arm.golden_image(rg, subnet)
        nics = [arm.nic(rg, f"n{i}", subnet) for i in range(21)]
    # Same state, slower clock: a create lasts 2 s, so 21 back-to-back creates overlap.
    with start_emulator(tmp_path, speed=30, throttling=False) as slow:
        arm = Arm(slow)
        started = [arm.vm(rg, f"vm{i}", nics[i], {"id": image}) for i in range(21)]
        assert all(r.status_code == 201 for r in started)
        outcomes = [arm.wait(r) for r in started]
    assert [o["status"] for o in outcomes] == ["Succeeded"] * 20 + ["Failed"]
    error = outcomes[-1]["error"]
    assert error["code"] == "ConcurrentDeploymentLimitExceeded"
    assert "20" in error["message"] and "golden-westus" in error["message"]


def test_managed_image_from_another_region_is_refused(arm: Arm) -> None:
    rg = arm.rg("regions")
    subnet_west = arm.network(rg)
    _, image = arm.golden_image(rg, subnet_west)
    subnet_east = arm.network(rg, "eastus")
    nic = arm.nic(rg, "east-nic", subnet_east, "eastus")
    refused = arm.vm(rg, "east", nic, {"id": image}, "eastus")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidParameter"
    assert "different location" in refused.json()["error"]["message"]


def test_gallery_version_replicates_and_serves_its_regions(arm: Arm) -> None:
    rg = arm.rg("gallery")
    subnet = arm.network(rg)
    _, image = arm.golden_image(rg, subnet)
    gallery = f"{rg}/Microsoft.Compute/galleries/g"
    assert arm.wait(arm.call("PUT", gallery, {"location": "westus"}))["status"] == "Succeeded"
    definition = {
        "location": "westus",
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "p", "offer": "o", "sku": "s"},
        },
    }
    assert arm.wait(arm.call("PUT", f"{gallery}/images/web", definition))["status"] == "Succeeded"
    version = {
        "location": "westus",
        "properties": {
            "storageProfile": {"source": {"id": image}},
            "publishingProfile": {
                "targetRegions": [{"name": "westus", "regionalReplicaCount": 2}, {"name": "eastus"}]
            },
        },
    }
    created = arm.call("PUT", f"{gallery}/images/web/versions/1.0.0", version)
    assert created.status_code == 201
    assert arm.wait(created)["status"] == "Succeeded"
    got = arm.call("GET", f"{gallery}/images/web/versions/1.0.0", **{"$expand": "ReplicationStatus"}).json()
    status = got["properties"]["replicationStatus"]
    assert status["aggregatedState"] == "Completed"
    assert {s["region"]: s["state"] for s in status["summary"]} == {
        "westus": "Completed",
        "eastus": "Completed",
    }

    changed = arm.call(
        "PUT",
        f"{gallery}/images/web/versions/1.0.0",
        {
            **version,
            "properties": {**version["properties"], "storageProfile": {"source": {"id": image + "x"}}},
        },
    )
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "PropertyChangeNotAllowed"

    east = arm.network(rg, "eastus")
    nic = arm.nic(rg, "from-gallery-nic", east, "eastus")
    assert (
        arm.wait(arm.vm(rg, "from-gallery", nic, {"id": f"{gallery}/images/web"}, "eastus"))["status"]
        == "Succeeded"
    )


def test_scale_set_capacity_and_instances(arm: Arm) -> None:
    rg = arm.rg("scaleset")
    subnet = arm.network(rg)
    _, image = arm.golden_image(rg, subnet)
    vmss = f"{rg}/Microsoft.Compute/virtualMachineScaleSets/web"
    body = {
        "location": "westus",
        "sku": {"name": "Standard_B2s", "capacity": 50},
        "properties": {
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "storageProfile": {"imageReference": {"id": image}},
                "osProfile": {"computerNamePrefix": "web", "adminUsername": "u", "linuxConfiguration": SSH},
                "networkProfile": {
                    "networkInterfaceConfigurations": [
                        {
                            "name": "nic",
                            "properties": {
                                "primary": True,
                                "ipConfigurations": [
                                    {"name": "ip", "properties": {"subnet": {"id": subnet}}}
                                ],
                            },
                        }
                    ]
                },
            },
        },
    }
    assert arm.wait(arm.call("PUT", vmss, body))["status"] == "Succeeded"
    instances = arm.call("GET", f"{vmss}/virtualMachines").json()["value"]
    assert len(instances) == 50 and {i["properties"]["provisioningState"] for i in instances} == {"Succeeded"}
    assert arm.wait(arm.call("PATCH", vmss, {"sku": {"capacity": 60}}))["status"] == "Succeeded"
    assert len(arm.call("GET", f"{vmss}/virtualMachines").json()["value"]) == 60


def test_owned_resources_are_found_by_tag_in_one_read(arm: Arm) -> None:
    rg = arm.rg("owned")
    subnet = arm.network(rg)
    nic = arm.nic(rg, "tagged-nic", subnet)
    arm.wait(arm.vm(rg, "tagged", nic, UBUNTU, tags={"imagepipe-stack": "web"}))
    sub = f"/subscriptions/{arm.em.subscription_id}"
    found = arm.call(
        "GET",
        f"{sub}/resources",
        **{"$filter": "tagName eq 'imagepipe-stack' and tagValue eq 'web'", "api-version": "2025-04-01"},
    )
    assert [r["name"] for r in found.json()["value"]] == ["tagged"]
    deleted = arm.call("DELETE", f"{arm.group}/owned", **{"api-version": "2025-04-01"})
    assert deleted.status_code == 202
    while (poll := arm.call("GET", deleted.headers["Location"])).status_code == 202:
        time.sleep(int(poll.headers["retry-after-ms"]) / 1000)
    assert poll.status_code == 200
    assert (
        arm.call(
            "GET",
            f"{sub}/resources",
            **{"api-version": "2025-04-01", "$filter": "tagName eq 'imagepipe-stack'"},
        ).json()["value"]
        == []
    )


def test_network_references_are_checked_and_subnets_in_use_are_kept(arm: Arm) -> None:
    rg = arm.rg("netrules")
    subnet = arm.network(rg)
    pip = f"{rg}/Microsoft.Network/publicIPAddresses/ip"
    assert (
        arm.wait(arm.call("PUT", pip, {"location": "westus", "sku": {"name": "Standard"}}))["status"]
        == "Succeeded"
    )
    body = {
        "location": "westus",
        "properties": {
            "ipConfigurations": [
                {
                    "name": "ip",
                    "properties": {"subnet": {"id": subnet}, "publicIPAddress": {"id": pip + "-missing"}},
                }
            ]
        },
    }
    missing = arm.call("PUT", f"{rg}/Microsoft.Network/networkInterfaces/nic", body)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "InvalidResourceReference"
    body["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = {"id": pip}
    arm.wait(arm.call("PUT", f"{rg}/Microsoft.Network/networkInterfaces/nic", body))
    without_subnets = {
        "location": "westus",
        "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}},
    }
    dropped = arm.call("PUT", f"{rg}/Microsoft.Network/virtualNetworks/net-westus", without_subnets)
    assert dropped.status_code == 400 and dropped.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"
