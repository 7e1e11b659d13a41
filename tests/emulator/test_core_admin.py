"""Smoke tests of identity, the admin API, fault injection and the guest model's Run Command rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from imagepipe.emulator import Emulator, start_emulator

from .test_core_fanout import UBUNTU, Arm

WINDOWS = {
    "publisher": "MicrosoftWindowsServer",
    "offer": "WindowsServer",
    "sku": "2022-datacenter-azure-edition",
    "version": "latest",
}


@pytest.fixture(scope="module")
def em(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("admin"), speed=2000, throttling=False) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def arm(em: Emulator) -> Arm:
    return Arm(em)


def admin(arm: Arm, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, arm.em.url(f"/_emulator/{path}"), json=body, verify=arm.ca, timeout=10)


def test_arm_calls_need_a_token_the_emulator_issued(arm: Arm) -> None:
    url = arm.em.url(f"/subscriptions/{arm.em.subscription_id}/resourcegroups")
    missing = requests.get(url, params={"api-version": "2025-04-01"}, verify=arm.ca, timeout=10)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "AuthenticationFailed"
    forged = requests.get(
        url,
        params={"api-version": "2025-04-01"},
        headers={"Authorization": "Bearer emu.e30.x"},
        verify=arm.ca,
        timeout=10,
    )
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    wrong = requests.post(
        arm.em.url(f"/{arm.em.tenant_id}/oauth2/v2.0/token"),
        data={
            "grant_type": "client_credentials",
            "client_id": arm.em.client_id,
            "client_secret": "nope",
            "scope": "x",
        },
        verify=arm.ca,
        timeout=10,
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "nope" not in wrong.text


def test_an_unknown_subscription_is_not_found(arm: Arm) -> None:
    other = "/subscriptions/11111111-1111-4111-8111-111111111111/resourcegroups/x"
    answer = arm.call("PUT", other, {"location": "westus"}, **{"api-version": "2025-04-01"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "SubscriptionNotFound"


def test_faults_inject_errors_lro_failures_and_can_be_cleared(arm: Arm) -> None:
    rg = arm.rg("faults")
    subnet = arm.network(rg)
    rules = {
        "seed": 7,
        "rules": [
            {"operation": "ResourceGroups_Get", "status": 503, "probability": 1.0, "retry_after": False}
        ],
    }
    assert admin(arm, "POST", "faults", rules).status_code == 200
    assert arm.call("GET", f"{arm.group}/faults", **{"api-version": "2025-04-01"}).status_code == 503
    admin(
        arm,
        "POST",
        "faults",
        [{"operation": "VirtualMachines_*", "lro_error": "AllocationFailed", "probability": 1.0}],
    )
    nic = arm.nic(rg, "nic", subnet)
    status = arm.wait(arm.vm(rg, "vm", nic, UBUNTU))
    assert status["status"] == "Failed" and status["error"]["code"] == "AllocationFailed"
    assert admin(arm, "POST", "faults", []).status_code == 200
    assert arm.call("GET", f"{arm.group}/faults", **{"api-version": "2025-04-01"}).status_code == 200
    bad = admin(arm, "POST", "faults", [{"operation": "*", "status": 418}])
    assert bad.status_code == 400


def test_journal_stats_and_request_log(arm: Arm) -> None:
    rg = arm.rg("journal")
    subnet = arm.network(rg)
    nic = arm.nic(rg, "nic", subnet)
    arm.wait(arm.vm(rg, "vm", nic, UBUNTU))
    vm = f"{rg}/Microsoft.Compute/virtualMachines/vm"
    log = admin(arm, "POST", "requestlog", {"enabled": True}).json()
    arm.wait(arm.call("POST", f"{vm}/deallocate"))
    arm.call("POST", f"{vm}/generalize")
    admin(arm, "POST", "requestlog", {"enabled": False})
    journal = admin(arm, "GET", f"journal?resource={vm.upper()}").json()["value"]
    assert [e["name"] for e in journal] == [
        "VirtualMachines_CreateOrUpdate",
        "VirtualMachines_Deallocate",
        "VirtualMachines_Generalize",
    ]
    assert all(e["status"] == "Succeeded" for e in journal)
    stats = admin(arm, "GET", "stats").json()
    assert stats["operations"]["VirtualMachines_Generalize"] >= 1 and stats["requests"]["POST"] >= 2
    assert set(stats["latency_ms"]) == {"p50", "p95", "max"}
    logged = [json.loads(line) for line in Path(log["path"]).read_text(encoding="utf-8").splitlines()]
    assert {"VirtualMachines_Deallocate", "VirtualMachines_Generalize"} <= {
        entry["operation"] for entry in logged
    }


def test_managed_run_command_reports_exit_codes_and_sysprep_shutdown(arm: Arm) -> None:
    rg = arm.rg("guest")
    subnet = arm.network(rg)
    nic = arm.nic(rg, "linux-nic", subnet)
    arm.wait(arm.vm(rg, "linux", nic, UBUNTU))
    command = f"{rg}/Microsoft.Compute/virtualMachines/linux/runCommands/check"
    body = {"location": "westus", "properties": {"source": {"script": "echo hi\nexit 3"}}}
    assert arm.wait(arm.call("PUT", command, body))["status"] == "Succeeded"
    view = arm.call("GET", command, **{"$expand": "instanceView"}).json()["properties"]["instanceView"]
    assert (view["executionState"], view["exitCode"]) == ("Failed", 3)

    win_nic = arm.nic(rg, "win-nic", subnet)
    weak = arm.vm(rg, "win", win_nic, WINDOWS)
    assert weak.status_code == 400 and weak.json()["error"]["target"] == "adminPassword"
    body = {
        "location": "westus",
        "properties": {
            "storageProfile": {"imageReference": WINDOWS},
            "osProfile": {"adminUsername": "u", "adminPassword": "Str0ng!Passw0rd"},
            "networkProfile": {"networkInterfaces": [{"id": win_nic}]},
        },
    }
    vm = f"{rg}/Microsoft.Compute/virtualMachines/win"
    created = arm.call("PUT", vm, body)
    assert "Str0ng" not in created.text
    arm.wait(created)
    sysprep = {
        "commandId": "RunPowerShellScript",
        "script": [r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet"],
    }
    assert arm.wait(arm.call("POST", f"{vm}/runCommand", sysprep))["status"] == "Succeeded"
    statuses = [s["code"] for s in arm.call("GET", f"{vm}/instanceView").json()["statuses"]]
    assert "PowerState/stopped" in statuses
    assert arm.call("POST", f"{vm}/generalize").status_code == 200


def test_unknown_marketplace_image_is_refused(arm: Arm) -> None:
    rg = arm.rg("urn")
    nic = arm.nic(rg, "nic", arm.network(rg))
    refused = arm.vm(rg, "vm", nic, {**UBUNTU, "sku": "no-such-sku"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "PlatformImageNotFound"
