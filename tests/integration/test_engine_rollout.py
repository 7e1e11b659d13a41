"""Rolling replacement of a VM fleet: a version bump replaces the VMs in waves of maxUnavailable,
each wave healthy before the next; a failing health check stops the rollout, the next apply resumes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from imagepipe import vocabulary as r
from imagepipe.apply.events import Event
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target, connect_emulator
from imagepipe.emulator import start_emulator
from imagepipe.render.plan import plan_json
from tests.integration.engine_helpers import admin, apply, apply_until, journal, plan, write_specs

FLEET = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: rolling}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: golden}
spec:
  resourceGroup: roll-build-rg
  vmName: golden
  osType: Linux
  create:
    securityType: Standard
    image: Ubuntu2204
    adminUsername: azureuser
    sshPublicKey: {file: key.pub}
    subnet: {vnet: build, name: default, addressPrefix: 10.7.0.0/24}
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: web}
spec:
  source: SourceVM/golden
  type: generalized
  image: {resourceGroup: roll-images-rg, name: web-image-VERSION}
  gallery:
    resourceGroup: roll-images-rg
    name: rollgallery
    definition: {name: web, publisher: contoso, offer: web, sku: ubuntu}
    version: VERSION
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: web}
spec:
  image: Capture/web
  resourceGroup: roll-web-rg
  count: 8
  subnet: {vnet: web, name: default, addressPrefix: 10.8.0.0/24}
  sshPublicKey: {file: key.pub}
  rollout:
    maxUnavailable: 2
    healthCheck: {script: HEALTH, timeout: 5m}
"""
COUNT, MAX_UNAVAILABLE = 8, 2
KILL_SPEED = 150.0  # slow enough that the kill lands while a VM is being replaced


def specs(folder: Path, version: str, health: str = "echo healthy") -> Path:
    return write_specs(folder, FLEET.replace("VERSION", version).replace("HEALTH", json.dumps(health)))


def set_faults(emulator: Any, rules: list[dict[str, Any]]) -> None:
    admin(emulator, "faults", {"rules": rules, "seed": 7})


def most_down_at_once(emulator: Any, rg: str) -> int:
    """From the emulator's journal: a VM is down from its delete's start to its next create's end."""
    ops = [op for op in journal(emulator) if f"/resourcegroups/{rg}/" in op["resourceId"].lower()]
    intervals: list[tuple[datetime, datetime]] = []
    down_since: dict[str, datetime] = {}
    for op in ops:  # in start order
        vm = op["resourceId"].lower()
        if op["name"] == "VirtualMachines_Delete":
            down_since[vm] = datetime.fromisoformat(op["startTime"])
        elif op["name"] == "VirtualMachines_CreateOrUpdate" and vm in down_since and op["endTime"]:
            intervals.append((down_since.pop(vm), datetime.fromisoformat(op["endTime"])))
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    down = most = 0
    for _, step in edges:
        down += step
        most = max(most, down)
    return most + len(down_since)  # deleted and never created again: still down


def images_of(azure: Azure) -> list[str]:
    vms = sorted(azure.list(r.VM, "roll-web-rg"), key=lambda vm: vm["name"])
    return [vm["properties"]["image"].rsplit("/", 1)[-1] for vm in vms]


def test_a_version_bump_rolls_through_the_fleet_in_waves_and_a_failed_wave_stops_it(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    folder = specs(tmp_path / "fleet", "1.0.0")
    assert apply(target, folder).result.ok
    assert not plan(target, folder).has_changes
    assert images_of(azure) == ["1.0.0"] * COUNT

    specs(folder, "1.0.1")
    bumped = plan(target, folder)
    (rollout,) = bumped.rollouts
    assert [len(wave) for wave in rollout.waves] == [2, 2, 2, 2]
    assert rollout.describe().startswith("replace 8 VMs in 4 waves of 2")
    assert json.loads(plan_json(bumped))["rollouts"][0]["waves"][0] == [
        "Deployment/web/vm[0]",
        "Deployment/web/vm[1]",
    ]

    standing: list[int] = []  # VMs of the fleet that exist, sampled at every event of the apply

    def sample(event: Event) -> None:
        if event.address.startswith("Deployment/web/"):
            standing.append(len(azure.list(r.VM, "roll-web-rg")))

    rolled = apply(target, folder, on_event=sample)
    assert rolled.result.ok, rolled.result.failures
    assert images_of(azure) == ["1.0.1"] * COUNT
    assert most_down_at_once(emulator, "roll-web-rg") <= MAX_UNAVAILABLE
    assert standing and min(standing) >= COUNT - MAX_UNAVAILABLE
    assert not plan(target, folder).has_changes

    # A health check that fails: the first wave is replaced, fails, and the rollout stops there.
    specs(folder, "1.0.2", health="echo broken\nexit 3")
    failed = apply(target, folder).result
    assert not failed.ok
    assert sorted(o.address for o in failed.failures) == ["Deployment/web/vm[0]", "Deployment/web/vm[1]"]
    assert "health check on web-00 failed" in failed.outcomes["Deployment/web/vm[0]"].message
    skipped = [o for o in failed.outcomes.values() if o.status == "skipped"]
    assert len(skipped) == COUNT - MAX_UNAVAILABLE
    assert all("wave 1 of 4 failed" in o.message for o in skipped)
    assert images_of(azure) == ["1.0.2"] * 2 + ["1.0.1"] * 6

    # Still broken: the next apply checks the two unhealthy VMs again first, and stops there
    # without taking any other VM down.
    first_wave = ["Deployment/web/vm[0]", "Deployment/web/vm[1]"]
    again = plan(target, folder)
    assert again.rollouts[0].waves[0] == first_wave
    assert again.rollouts[0].rechecked == first_wave
    assert "check again 2" in again.rollouts[0].describe()
    deletes = sum(1 for op in journal(emulator) if op["name"] == "VirtualMachines_Delete")
    still = apply(target, folder).result
    assert sorted(o.address for o in still.failures) == first_wave
    assert sum(1 for op in journal(emulator) if op["name"] == "VirtualMachines_Delete") == deletes
    assert images_of(azure) == ["1.0.2"] * 2 + ["1.0.1"] * 6

    # Fixed: the next apply checks those two again, then replaces the six VMs left.
    specs(folder, "1.0.2")
    resumed = plan(target, folder)
    assert [len(wave) for wave in resumed.rollouts[0].waves] == [2, 2, 2, 2]
    assert resumed.rollouts[0].waves[0] == first_wave
    assert apply(target, folder).result.ok
    assert images_of(azure) == ["1.0.2"] * COUNT
    assert not plan(target, folder).has_changes


def scale_set_specs(folder: Path, version: str, probe: str = "") -> Path:
    text = FLEET.replace("VERSION", version).replace("healthCheck: {script: HEALTH, timeout: 5m}", probe)
    return write_specs(folder, text.replace("  count: 8\n", "  count: 4\n  mode: scaleSet\n"))


def health_extensions(azure: Azure) -> list[dict[str, Any]]:
    """The scale set's Application Health extensions, as Azure shows its model."""
    model = azure.compute.virtual_machine_scale_sets.get("roll-web-rg", "web").as_dict()
    extensions = (
        model["properties"]["virtualMachineProfile"].get("extensionProfile", {}).get("extensions", [])
    )
    return [e for e in extensions if e["properties"]["type"].startswith("ApplicationHealth")]


def test_a_scale_set_rolls_to_a_new_version_on_azures_engine_and_a_faulted_upgrade_fails_the_step(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    folder = scale_set_specs(tmp_path / "set", "1.0.0")
    created = plan(target, folder).change("Deployment/web/vmss")
    assert "with the Application Health extension (tcp port 22)" in created.reason
    assert apply(target, folder).result.ok
    (extension,) = health_extensions(azure)  # made with the set: the first rollout's PATCH needs none
    assert extension["properties"]["type"] == "ApplicationHealthLinux"
    assert extension["properties"]["settings"] == {"protocol": "tcp", "port": 22}
    assert extension["properties"]["provisioningState"] == "Succeeded"
    assert not plan(target, folder).has_changes

    scale_set_specs(folder, "1.0.1")
    change = plan(target, folder).change("Deployment/web/vmss")
    assert change.action == "update"
    assert "rolling upgrade, in batches of 50% of the instances" in change.reason
    assert "health extension" not in change.reason
    assert apply(target, folder).result.ok
    scale_set = azure.get(r.VMSS, "roll-web-rg", "web")
    assert scale_set["properties"]["image"].endswith("/versions/1.0.1")
    latest = azure.rolling_upgrade("roll-web-rg", "web")
    assert latest is not None and latest["code"] == "Completed"
    assert latest["progress"]["successful"] == 4
    ops = journal(emulator)
    assert not [op for op in ops if op["name"] == "VirtualMachineScaleSets_Delete"]  # never replaced
    assert not plan(target, folder).has_changes

    # An instance that fails its upgrade faults it: the step fails with Azure's code and message.
    set_faults(
        emulator,
        [{"operation": "VirtualMachineScaleSetVMs_RollingUpgrade", "lro_error": "VMHealthCheckFailed"}],
    )
    scale_set_specs(folder, "1.0.2")
    failed = apply(target, folder).result
    set_faults(emulator, [])
    (failure,) = failed.failures
    assert failure.address == "Deployment/web/vmss"
    assert failure.error is not None
    assert failure.error["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert "First failed instance ID is" in failure.error["message"]


def test_a_scale_set_without_a_health_signal_gets_the_extension_with_its_first_rolling_upgrade(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    probe = "healthProbe: {protocol: http, port: 8080, requestPath: /health}"
    folder = scale_set_specs(tmp_path / "set", "1.0.0", probe)
    assert apply(target, folder).result.ok
    # A set made before imagepipe added the extension: Manual mode, no health signal.
    strip = {"properties": {"virtualMachineProfile": {"extensionProfile": {"extensions": []}}}}
    azure.compute.virtual_machine_scale_sets.begin_update("roll-web-rg", "web", strip).result()
    assert health_extensions(azure) == []
    assert not plan(target, folder).has_changes  # nothing rolls: the set is left as it is

    scale_set_specs(folder, "1.0.1", probe)
    change = plan(target, folder).change("Deployment/web/vmss")
    assert change.action == "update"
    assert "add the Application Health extension (http port 8080 /health)" in change.reason
    assert "Azure refuses a rolling upgrade without a health probe or this extension" in change.reason
    assert apply(target, folder).result.ok
    (extension,) = health_extensions(azure)
    assert extension["properties"]["settings"] == {"protocol": "http", "port": 8080, "requestPath": "/health"}
    latest = azure.rolling_upgrade("roll-web-rg", "web")
    assert latest is not None and latest["code"] == "Completed"
    assert not plan(target, folder).has_changes

    # Another probe in the spec is an update of the extension, with no rollout.
    scale_set_specs(folder, "1.0.1", "healthProbe: {protocol: tcp}")
    change = plan(target, folder).change("Deployment/web/vmss")
    assert change.action == "update"
    assert "health extension http port 8080 /health -> tcp port 22" in change.reason
    assert apply(target, folder).result.ok
    assert health_extensions(azure)[0]["properties"]["settings"] == {"protocol": "tcp", "port": 22}
    assert not plan(target, folder).has_changes


@pytest.mark.slow  # two captures at a speed slow enough for the kill to land mid-replacement: ~20 s
def test_a_kill_in_the_middle_of_a_rollout_and_one_more_apply_converge_without_duplicates(
    tmp_path: Path,
) -> None:
    with start_emulator(tmp_path / "slow-state", speed=KILL_SPEED, throttling=False) as slow:
        folder = write_specs(
            tmp_path / "fleet",
            FLEET.replace("VERSION", "1.0.0")
            .replace("count: 8", "count: 4")
            .replace("maxUnavailable: 2", "maxUnavailable: 1")
            .replace("HEALTH", '"echo healthy"'),
        )
        target = connect_emulator(slow, polling_interval=0.02)
        try:
            assert apply(target, folder).result.ok
            (folder / "specs.yaml").write_text((folder / "specs.yaml").read_text().replace("1.0.0", "1.0.1"))
            killed = apply_until(slow, folder, "Deployment/web/vm[1]", tmp_path)
            assert killed.in_flight, f"the kill did not land mid-operation:\n{killed.output}"

            resumed = apply(target, folder)
            assert resumed.result is not None and resumed.result.ok, resumed.result.failures
            assert not plan(target, folder).has_changes
            azure = Azure(target)
            assert [
                vm["name"] for vm in sorted(azure.list(r.VM, "roll-web-rg"), key=lambda v: v["name"])
            ] == [
                "web-00",
                "web-01",
                "web-02",
                "web-03",
            ]
            assert images_of(azure) == ["1.0.1"] * 4
            assert most_down_at_once(slow, "roll-web-rg") <= 1  # the killed run and the resumed one
        finally:
            target.close()


def hand_made_vm(azure: Azure, image_id: str) -> None:
    """A VM someone made by hand from a gallery version (no imagepipe tags)."""
    azure.resources.resource_groups.create_or_update("hand-rg", {"location": "eastus"})
    azure.network.virtual_networks.begin_create_or_update(
        "hand-rg",
        "hand-vnet",
        {
            "location": "eastus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
                "subnets": [{"name": "s", "properties": {"addressPrefix": "10.9.0.0/24"}}],
            },
        },
    ).result()
    nic = azure.network.network_interfaces.begin_create_or_update(
        "hand-rg",
        "hand-nic",
        {
            "location": "eastus",
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ip",
                        "properties": {"subnet": {"id": azure.subnet_id("hand-rg", "hand-vnet", "s")}},
                    }
                ]
            },
        },
    ).result()
    azure.compute.virtual_machines.begin_create_or_update(
        "hand-rg",
        "hand",
        {
            "location": "eastus",
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_B2s"},
                "securityProfile": {"securityType": "Standard"},
                "storageProfile": {"imageReference": {"id": image_id}},
                "osProfile": {
                    "computerName": "hand",
                    "adminUsername": "someone",
                    "adminPassword": "Hand-made-Passw0rd!",
                },
                "networkProfile": {"networkInterfaces": [{"id": nic.id}]},
            },
        },
    ).result()


def versions_of(azure: Azure) -> list[str]:
    return sorted(
        v["name"].rsplit("/", 1)[-1]
        for v in azure.gallery_children("roll-images-rg", "rollgallery")
        if v["type"].lower() == r.GALLERY_VERSION.lower()
    )


def retained_specs(folder: Path, version: str) -> Path:
    text = (
        FLEET.replace("VERSION", version).replace("HEALTH", '"echo healthy"').replace("count: 8", "count: 2")
    )
    return write_specs(folder, text.replace("    version: ", "    retain: 1\n    version: ", 1))


def test_retain_deletes_exactly_the_older_versions_nothing_uses_and_says_what_keeps_the_others(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = retained_specs(tmp_path / "retain", "1.0.0")
    assert apply(target, folder).result.ok
    version_id = azure.get(r.GALLERY_VERSION, "roll-images-rg", "rollgallery/web/1.0.0")["id"]
    hand_made_vm(azure, version_id)

    retained_specs(folder, "1.0.1")  # the fleet leaves 1.0.0, the hand-made VM stays on it
    assert plan(target, folder).change("Capture/web/retain").action == "no-op"
    assert apply(target, folder).result.ok
    kept = plan(target, folder)
    assert not kept.has_changes
    assert "1.0.0 kept: used by VM hand-rg/hand" in kept.change("Capture/web/retain").reason
    assert versions_of(azure) == ["1.0.0", "1.0.1"]

    retained_specs(folder, "1.0.2")  # 1.0.1 goes in the apply that moves the fleet off it
    change = plan(target, folder).change("Capture/web/retain")
    assert change.action == "delete"
    assert "delete gallery image versions 1.0.1 " in change.reason
    assert "1.0.0 kept: used by VM hand-rg/hand" in change.reason
    assert apply(target, folder).result.ok
    assert versions_of(azure) == ["1.0.0", "1.0.2"]
    assert images_of(azure) == ["1.0.2"] * 2
    assert not plan(target, folder).has_changes

    azure.compute.virtual_machines.begin_delete("hand-rg", "hand").result()
    assert "versions 1.0.0 " in plan(target, folder).change("Capture/web/retain").reason
    assert apply(target, folder).result.ok
    assert versions_of(azure) == ["1.0.2"]
    assert not plan(target, folder).has_changes
