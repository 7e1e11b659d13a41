"""The resource providers' budgets on top of ARM's, probed through the bare SDK at speed 1.

A budget is shrunk through /_emulator/faults so that a few requests reach it; the clock stands
still while the test spends tokens, then moves on to show the refill.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from imagepipe.emulator import start_emulator

from .helpers import API, Arm, admin, bearer_token, make_clients, nic_body, set_clock, stats, unique, vm_body
from .helpers import UBUNTU_2204 as IMAGE

HEADER = "x-ms-ratelimit-remaining-resource"


@pytest.fixture
def em(tmp_path: Any) -> Iterator[Any]:
    with start_emulator(tmp_path / "state", speed=1.0, throttling=True) as emulator:
        yield emulator


def shrink(em: Any, budgets: dict[str, dict[str, float]]) -> None:
    answer = admin(em, "POST", "faults", {"rules": [], "budgets": budgets})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["budgets"]) == set(budgets)


def policies(header: str) -> dict[str, int]:
    """`Microsoft.Compute/GetVMResource;2,...` -> {name: remaining}."""
    out = {}
    for item in header.split(","):
        name, _, count = item.strip().rpartition(";")
        out[name] = int(count)
    return out


def two_vms(em: Any, arm: Arm) -> tuple[str, list[str]]:
    """A group, a network, two NICs and two VMs, sent raw (no poller), then time moves past their creates."""
    rg = unique("rg")
    sub = f"/subscriptions/{em.subscription_id}"
    group = f"{sub}/resourceGroups/{rg}"
    assert arm.request("PUT", group, body={"location": "eastus"}, api_version=API["resources"]).ok
    vnet = f"{group}/providers/Microsoft.Network/virtualNetworks/vnet"
    body = {
        "location": "eastus",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}}],
        },
    }
    assert arm.request("PUT", vnet, body=body, api_version=API["network"]).ok
    set_clock(em, advance=10)
    vms = []
    for name in ("vm-a", "vm-b"):
        nic = f"{group}/providers/Microsoft.Network/networkInterfaces/{name}-nic"
        assert arm.request(
            "PUT", nic, body=nic_body("eastus", f"{vnet}/subnets/default"), api_version=API["network"]
        ).ok
        set_clock(em, advance=10)
        created = arm.request(
            "PUT",
            f"{group}/providers/Microsoft.Compute/virtualMachines/{name}",
            body=vm_body(name, nic, IMAGE),
        )
        assert created.status_code == 201, created.text
        # Compute reports the policies the create counted against, by resource and by subscription.
        assert policies(created.headers[HEADER]) == {
            "Microsoft.Compute/CreateVMResource": 11,
            "Microsoft.Compute/CreateVMSubscription": 1499,  # refilled since the last one
        }
        vms.append(name)
    set_clock(em, advance=120)
    return rg, vms


def test_compute_counts_per_vm_answers_429_and_recovers_after_the_refill(em: Any) -> None:
    shrink(em, {"Microsoft.Compute/GetVMResource": {"capacity": 3, "per_minute": 3}})
    set_clock(em, paused=True)
    clients = make_clients(em, retry_total=0)  # the bare SDK: every 429 is seen
    arm = Arm(em, bearer_token(clients.credential))
    rg, (vm_a, vm_b) = two_vms(em, arm)
    seen: list[Any] = []

    def get(name: str) -> Any:
        return clients.compute.virtual_machines.get(
            rg, name, raw_response_hook=lambda r: seen.append(r.http_response)
        )

    for expected in (2, 1, 0):
        get(vm_a)
        assert policies(seen[-1].headers[HEADER])["Microsoft.Compute/GetVMResource"] == expected
    with pytest.raises(HttpResponseError) as refused:
        get(vm_a)
    answer = refused.value.response
    assert answer.status_code == 429
    assert answer.headers["retry-after-ms"] == "20000"  # 3 a minute: the next token in 20 s
    raw = arm.request(
        "GET",
        f"/subscriptions/{em.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm_a}",
    )
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "20"  # whole seconds, as Azure
    error = answer.json()["error"]
    assert error["code"] == "OperationNotAllowed"
    assert error["details"][0]["code"] == "TooManyRequests"
    assert error["details"][0]["target"] == "GetVMResource"
    assert policies(answer.headers[HEADER])["Microsoft.Compute/GetVMResource"] == 0
    # Another VM has its own bucket; the subscription's is far from empty.
    assert get(vm_b).name == vm_b
    assert policies(seen[-1].headers[HEADER])["Microsoft.Compute/GetVMSubscription"] > 20_000
    # 3 a minute: one token every 20 simulated seconds.
    set_clock(em, advance=19)
    with pytest.raises(HttpResponseError):
        get(vm_a)
    set_clock(em, advance=1)
    assert get(vm_a).name == vm_a
    counted = stats(em)
    assert counted["throttled_by_policy"] == {"Microsoft.Compute/GetVMResource": 3}
    assert counted["throttled"] == 3


def test_network_counts_writes_per_subscription(em: Any) -> None:
    shrink(em, {"Microsoft.Network/WritesAndDeletes5Min": {"capacity": 2, "per_minute": 1}})
    set_clock(em, paused=True)
    clients = make_clients(em, retry_total=0)
    arm = Arm(em, bearer_token(clients.credential))
    rg = unique("rg")
    clients.resource.resource_groups.create_or_update(rg, {"location": "westus"})
    group = f"/subscriptions/{em.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Network"
    body = {"location": "westus", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
    answers = [
        arm.request("PUT", f"{group}/virtualNetworks/v{i}", body=body, api_version=API["network"])
        for i in range(3)
    ]
    assert [a.status_code for a in answers[:2]] == [201, 201]
    assert answers[2].status_code == 429
    assert answers[2].json()["error"]["code"] == "TooManyRequests"
    assert int(answers[2].headers["Retry-After"]) == 60
    assert policies(answers[1].headers[HEADER]) == {"Microsoft.Network/WritesAndDeletes5Min": 0}
    # Reads have their own budget; ARM's headers still come with every answer.
    listed = arm.request("GET", f"{group}/virtualNetworks", api_version=API["network"])
    assert listed.status_code == 200
    assert policies(listed.headers[HEADER]) == {"Microsoft.Network/Reads5Min": 9999}
    assert int(listed.headers["x-ms-ratelimit-remaining-subscription-reads"]) > 0
    set_clock(em, advance=60)
    retried = arm.request("PUT", f"{group}/virtualNetworks/v2", body=body, api_version=API["network"])
    assert retried.status_code == 201
    assert stats(em)["throttled_by_policy"] == {"Microsoft.Network/WritesAndDeletes5Min": 1}
