"""Scale set model changes and rolling upgrades through the real SDK clients, on a paused clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import (
    ADMIN_USER,
    SSH_PUBLIC_KEY,
    UBUNTU_2204,
    Clients,
    captured_image,
    clear_faults,
    error_code,
    set_clock,
    set_faults,
)

UBUNTU_2404 = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}


# The Application Health extension as Learn's REST example writes it (binary health states).
HEALTH_EXTENSION = {
    "name": "HealthExtension",
    "properties": {
        "publisher": "Microsoft.ManagedServices",
        "type": "ApplicationHealthLinux",
        "typeHandlerVersion": "1.0",
        "autoUpgradeMinorVersion": True,
        "settings": {"protocol": "tcp", "port": 22},
    },
}
NO_HEALTH_SIGNAL = (
    "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a health probe or "
    "health extension was not provided."
)


def scale_set_body(
    subnet_id: str, capacity: int, upgrade_policy: dict[str, Any], *, health: bool = True
) -> dict[str, Any]:
    body = {
        "location": "eastus",
        "sku": {"name": "Standard_B2s", "capacity": capacity},
        "properties": {
            "upgradePolicy": upgrade_policy,
            "virtualMachineProfile": {
                "storageProfile": {"imageReference": UBUNTU_2204},
                "osProfile": {
                    "computerNamePrefix": "web",
                    "adminUsername": ADMIN_USER,
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": True,
                        "ssh": {
                            "publicKeys": [
                                {
                                    "path": f"/home/{ADMIN_USER}/.ssh/authorized_keys",
                                    "keyData": SSH_PUBLIC_KEY,
                                }
                            ]
                        },
                    },
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
            },
        },
    }
    if health:
        body["properties"]["virtualMachineProfile"]["extensionProfile"] = {"extensions": [HEALTH_EXTENSION]}
    return body


def rolling(**policy: Any) -> dict[str, Any]:
    return {"mode": "Rolling", "rollingUpgradePolicy": policy}


@pytest.fixture
def paused(emulator: Any, subnet_id: str) -> Iterator[Any]:
    """The clock stands still inside the test (once its network exists): only `advance` moves it."""
    set_clock(emulator, paused=True)
    try:
        yield emulator
    finally:
        clear_faults(emulator)
        set_clock(emulator, paused=False)


def create(clients: Clients, em: Any, rg: str, subnet_id: str, capacity: int, policy: dict[str, Any]) -> None:
    poller = clients.compute.virtual_machine_scale_sets.begin_create_or_update(
        rg, "web", scale_set_body(subnet_id, capacity, policy)
    )
    set_clock(em, advance=600)
    poller.result()


def change_image(clients: Clients, em: Any, rg: str, image: dict[str, Any], *, advance: float = 15) -> None:
    """PATCH the model to a new image; the model write takes 10 simulated seconds."""
    body = {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": image}}}}
    poller = clients.compute.virtual_machine_scale_sets.begin_update(rg, "web", body)
    set_clock(em, advance=advance)
    poller.result()


def progress(clients: Clients, rg: str) -> tuple[str, dict[str, int]]:
    latest = clients.compute.virtual_machine_scale_set_rolling_upgrades.get_latest(rg, "web")
    counts = latest.properties.progress
    return latest.properties.running_status.code, {
        "successful": counts.successful_instance_count,
        "failed": counts.failed_instance_count,
        "in_progress": counts.in_progress_instance_count,
        "pending": counts.pending_instance_count,
    }


def instances(clients: Clients, rg: str) -> list[tuple[bool, str]]:
    """(latestModelApplied, provisioningState) per instance, in instance id order."""
    found = sorted(
        clients.compute.virtual_machine_scale_set_vms.list(rg, "web"), key=lambda i: int(i.instance_id)
    )
    return [(i.properties.latest_model_applied, i.properties.provisioning_state) for i in found]


def test_a_new_image_rolls_through_the_instances_in_batches(
    paused: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    policy = rolling(maxBatchInstancePercent=40, pauseTimeBetweenBatches="PT30S")
    create(clients, paused, rg, subnet_id, 5, policy)  # batches of 2: [0, 1], [2, 3], [4]
    stored = clients.compute.virtual_machine_scale_sets.get(rg, "web").properties.upgrade_policy
    assert stored.rolling_upgrade_policy.max_unhealthy_instance_percent == 20  # defaults filled in

    change_image(clients, paused, rg, UBUNTU_2404)  # the upgrade starts when the model write ends (+10 s)
    assert progress(clients, rg) == (
        "RollingForward",
        {"successful": 0, "failed": 0, "in_progress": 2, "pending": 3},
    )
    assert instances(clients, rg) == [(False, "Updating")] * 2 + [(False, "Succeeded")] * 3

    set_clock(paused, advance=60)  # first batch done, pausing 30 s
    assert progress(clients, rg) == (
        "RollingForward",
        {"successful": 2, "failed": 0, "in_progress": 0, "pending": 3},
    )
    assert [latest for latest, _ in instances(clients, rg)] == [True, True, False, False, False]

    set_clock(paused, advance=30)  # second batch under way
    assert progress(clients, rg)[1] == {"successful": 2, "failed": 0, "in_progress": 2, "pending": 1}
    assert instances(clients, rg)[2:] == [(False, "Updating"), (False, "Updating"), (False, "Succeeded")]

    set_clock(paused, advance=150)
    assert progress(clients, rg) == (
        "Completed",
        {"successful": 5, "failed": 0, "in_progress": 0, "pending": 0},
    )
    assert instances(clients, rg) == [(True, "Succeeded")] * 5
    vm = clients.compute.virtual_machine_scale_set_vms.get(rg, "web", "4")
    assert vm.properties.storage_profile.image_reference.offer == "ubuntu-24_04-lts"
    view = clients.compute.virtual_machine_scale_set_vms.get_instance_view(rg, "web", "4")
    assert [s.code for s in view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]


def test_an_unhealthy_batch_faults_the_upgrade(
    paused: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    create(clients, paused, rg, subnet_id, 4, rolling(maxBatchInstancePercent=25))
    set_faults(
        paused,
        [{"operation": "VirtualMachineScaleSetVMs_RollingUpgrade", "lro_error": "VMHealthCheckFailed"}],
    )
    change_image(clients, paused, rg, UBUNTU_2404, advance=100)
    code, counts = progress(clients, rg)
    assert (code, counts) == ("Faulted", {"successful": 0, "failed": 1, "in_progress": 0, "pending": 3})
    latest = clients.compute.virtual_machine_scale_set_rolling_upgrades.get_latest(rg, "web")
    assert latest.properties.error.code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert "First failed instance ID is: 0" in latest.properties.error.message
    assert (
        instances(clients, rg) == [(True, "Failed")] + [(False, "Succeeded")] * 3
    )  # nothing further replaced

    # Restarting: one of four instances (25%) is unhealthy, more than maxUnhealthyInstancePercent (20%).
    clear_faults(paused)
    poller = clients.compute.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(rg, "web")
    set_clock(paused, advance=5)
    with pytest.raises(HttpResponseError) as faulted:
        poller.result()
    assert error_code(faulted.value) == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert instances(clients, rg)[1:] == [(False, "Succeeded")] * 3
    # The Application Health extension reports the failed instance unhealthy, the others healthy.
    views = [clients.compute.virtual_machine_scale_set_vms.get_instance_view(rg, "web", i) for i in "01"]
    assert [v.vm_health.status.code for v in views] == ["HealthState/unhealthy", "HealthState/healthy"]
    (extension,) = views[0].extensions
    assert extension.type == "Microsoft.ManagedServices.ApplicationHealthLinux"
    assert extension.substatuses[0].code == "ComponentStatus/ApplicationHealthState/unhealthy"


def test_an_image_that_cannot_provision_faults_the_first_batch(
    emulator: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    broken = captured_image(clients, rg, subnet_id, "not-deprovisioned", deprovision=False)
    set_clock(emulator, paused=True)
    try:
        create(clients, emulator, rg, subnet_id, 2, rolling(maxBatchInstancePercent=50))
        change_image(clients, emulator, rg, {"id": broken.id}, advance=400)
        latest = clients.compute.virtual_machine_scale_set_rolling_upgrades.get_latest(rg, "web")
        assert latest.properties.running_status.code == "Faulted"
        assert "OSProvisioningTimedOut" in latest.properties.error.message
        assert instances(clients, rg) == [(True, "Failed"), (False, "Succeeded")]
    finally:
        set_clock(emulator, paused=False)


def test_os_rolling_upgrade_brings_a_manual_scale_set_to_its_model(
    paused: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    create(clients, paused, rg, subnet_id, 2, {"mode": "Manual"})
    change_image(clients, paused, rg, UBUNTU_2404)
    assert (
        instances(clients, rg) == [(False, "Succeeded")] * 2
    )  # Manual: the model changed, the instances did not
    poller = clients.compute.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(rg, "web")
    set_clock(paused, advance=1000)
    poller.result()
    assert instances(clients, rg) == [(True, "Succeeded")] * 2
    assert progress(clients, rg) == (
        "Completed",
        {"successful": 2, "failed": 0, "in_progress": 0, "pending": 0},
    )


def test_automatic_mode_moves_every_instance_at_once(
    paused: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    create(clients, paused, rg, subnet_id, 3, {"mode": "Automatic"})
    change_image(clients, paused, rg, UBUNTU_2404)
    assert instances(clients, rg) == [(True, "Succeeded")] * 3


def test_cancel_stops_before_the_next_batch(paused: Any, clients: Clients, rg: str, subnet_id: str) -> None:
    create(clients, paused, rg, subnet_id, 3, rolling(maxBatchInstancePercent=34))
    change_image(clients, paused, rg, UBUNTU_2404)  # instance 0 is being upgraded
    with pytest.raises(HttpResponseError) as busy:
        change_image(clients, paused, rg, {**UBUNTU_2204, "version": "22.04.202502110"}, advance=0)
    assert error_code(busy.value) == "OperationNotAllowed"
    poller = clients.compute.virtual_machine_scale_set_rolling_upgrades.begin_cancel(rg, "web")
    set_clock(paused, advance=600)
    poller.result()
    latest = clients.compute.virtual_machine_scale_set_rolling_upgrades.get_latest(rg, "web")
    assert latest.properties.running_status.code == "Cancelled"
    assert latest.properties.running_status.last_action == "Cancel"
    assert progress(clients, rg)[1] == {"successful": 1, "failed": 0, "in_progress": 0, "pending": 2}
    assert [latest for latest, _ in instances(clients, rg)] == [True, False, False]
    with pytest.raises(HttpResponseError) as nothing:
        clients.compute.virtual_machine_scale_set_rolling_upgrades.begin_cancel(rg, "web").result()
    assert error_code(nothing.value) == "OperationNotAllowed"


@pytest.mark.parametrize(
    ("policy", "target"),
    [
        (rolling(maxBatchInstancePercent=3), "upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent"),
        (
            rolling(maxUnhealthyUpgradedInstancePercent=101),
            "upgradePolicy.rollingUpgradePolicy.maxUnhealthyUpgradedInstancePercent",
        ),
        (
            rolling(pauseTimeBetweenBatches="30s"),
            "upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches",
        ),
        ({"mode": "Sometimes"}, "upgradePolicy.mode"),
    ],
)
def test_invalid_upgrade_policies_are_refused(
    clients: Clients, rg: str, subnet_id: str, policy: dict[str, Any], target: str
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        clients.compute.virtual_machine_scale_sets.begin_create_or_update(
            rg, "web", scale_set_body(subnet_id, 1, policy)
        ).result()
    assert error_code(refused.value) == "InvalidParameter"
    assert refused.value.error.target == target


def test_no_rolling_upgrade_yet_is_not_found(clients: Clients, rg: str, subnet_id: str) -> None:
    clients.compute.virtual_machine_scale_sets.begin_create_or_update(
        rg, "web", scale_set_body(subnet_id, 1, rolling())
    ).result()
    with pytest.raises(HttpResponseError) as missing:
        clients.compute.virtual_machine_scale_set_rolling_upgrades.get_latest(rg, "web")
    assert missing.value.status_code == 404


def test_rolling_mode_needs_a_health_probe_or_the_application_health_extension(
    paused: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    sets = clients.compute.virtual_machine_scale_sets
    with pytest.raises(HttpResponseError) as refused:
        sets.begin_create_or_update(rg, "web", scale_set_body(subnet_id, 2, rolling(), health=False))
    assert refused.value.status_code == 400
    assert error_code(refused.value) == "BadRequest"
    assert refused.value.error.message == NO_HEALTH_SIGNAL

    # Manual needs no health signal; the PATCH that turns it Rolling does, unless it brings one.
    create_body = scale_set_body(subnet_id, 2, {"mode": "Manual"}, health=False)
    poller = sets.begin_create_or_update(rg, "web", create_body)
    set_clock(paused, advance=600)
    poller.result()
    with pytest.raises(HttpResponseError) as patched:
        sets.begin_update(rg, "web", {"properties": {"upgradePolicy": rolling()}})
    assert error_code(patched.value) == "BadRequest"
    assert sets.get(rg, "web").properties.upgrade_policy.mode == "Manual"  # nothing was written

    poller = sets.begin_update(
        rg,
        "web",
        {
            "properties": {
                "upgradePolicy": rolling(maxBatchInstancePercent=50),
                "virtualMachineProfile": {
                    "extensionProfile": {"extensions": [HEALTH_EXTENSION]},
                    "storageProfile": {"imageReference": UBUNTU_2404},
                },
            }
        },
    )
    set_clock(paused, advance=15)
    poller.result()
    stored = sets.get(rg, "web")
    assert stored.properties.upgrade_policy.mode == "Rolling"
    (extension,) = stored.properties.virtual_machine_profile.extension_profile.extensions
    assert (extension.name, extension.properties.publisher, extension.properties.type) == (
        "HealthExtension",
        "Microsoft.ManagedServices",
        "ApplicationHealthLinux",
    )
    assert extension.properties.settings == {"protocol": "tcp", "port": 22}
    assert extension.properties.provisioning_state == "Succeeded"
    set_clock(paused, advance=600)
    assert progress(clients, rg)[0] == "Completed"  # the model write rolled out with the extension

    # Taking the extension away from a Rolling set is refused; a load balancer probe is a signal too.
    without = {"properties": {"virtualMachineProfile": {"extensionProfile": {"extensions": []}}}}
    with pytest.raises(HttpResponseError) as removed:
        sets.begin_update(rg, "web", without)
    assert error_code(removed.value) == "BadRequest"
    probe = f"{rg}/providers/Microsoft.Network/loadBalancers/lb/probes/health"
    with_probe = {"networkProfile": {"healthProbe": {"id": f"/subscriptions/x/resourceGroups/{probe}"}}}
    poller = sets.begin_update(
        rg,
        "web",
        {
            "properties": {
                "virtualMachineProfile": {**without["properties"]["virtualMachineProfile"], **with_probe}
            }
        },
    )
    set_clock(paused, advance=15)
    poller.result()
    assert sets.get(rg, "web").properties.virtual_machine_profile.extension_profile.extensions == []
