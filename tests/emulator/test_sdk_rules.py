"""Azure's rules, each answered with the status code and ARM error code Azure uses.

References: Azure's VM error-message table (MicrosoftDocs/azure-docs,
articles/virtual-machines/troubleshooting/error-messages.md)
(codes and messages), DESIGN.md section 5 (the rules the emulator enforces).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from imagepipe.emulator import start_emulator

from .helpers import (
    COMPLEX_PASSWORD,
    DEPROVISION_LINUX,
    SYSPREP_SHUTDOWN,
    UBUNTU_2204,
    WINDOWS_2022,
    Arm,
    Clients,
    bearer_token,
    captured_image,
    create_nic,
    create_resource_group,
    create_subnet,
    create_vm,
    error_code,
    generalize_in_place,
    image_from_blob,
    image_from_vm,
    make_clients,
    nic_body,
    power_state,
    run_script,
    unique,
    vm_body,
    vm_id,
    wait_until,
)
from .test_sdk_gallery import create_gallery_image, version_body


def failure(call: Any) -> tuple[int | None, str | None]:
    """Run `call`; it must fail: return the status code and ARM error code."""
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value.status_code, error_code(caught.value)


def test_generalize_of_a_running_vm_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    assert failure(lambda: clients.compute.virtual_machines.generalize(rg, "vm")) == (
        409,
        "OperationNotAllowed",
    )
    assert power_state(clients, rg, "vm") == "PowerState/running"


def test_start_of_a_generalized_vm_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    generalize_in_place(clients, rg, "vm")
    start = clients.compute.virtual_machines.begin_start
    assert failure(lambda: start(rg, "vm").result()) == (409, "OperationNotAllowed")
    assert power_state(clients, rg, "vm") == "PowerState/deallocated"


@pytest.mark.parametrize("deallocated", [False, True])
def test_image_from_a_vm_that_is_not_generalized_is_refused(
    clients: Clients, rg: str, subnet_id: str, deallocated: bool
) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    if deallocated:
        clients.compute.virtual_machines.begin_deallocate(rg, "vm").result()
    assert failure(lambda: image_from_vm(clients, rg, "img", "vm")) == (409, "OperationNotAllowed")


def test_managed_image_from_another_region_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    image = image_from_blob(clients, rg, "img", location="eastus")
    west_subnet = create_subnet(clients, rg, "westus", vnet="westnet")
    nic = create_nic(clients, rg, "west-nic", west_subnet, "westus")
    body = vm_body("west", nic, {"id": image.id}, location="westus")
    create = clients.compute.virtual_machines.begin_create_or_update
    assert failure(lambda: create(rg, "west", body).result()) == (400, "InvalidParameter")


def test_a_region_written_as_a_display_name_is_the_same_region(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    image = image_from_blob(clients, rg, "img", location="East US")
    assert image.location == "eastus"
    vm = create_vm(clients, rg, "vm", subnet_id, image_reference={"id": image.id})
    assert vm.properties.provisioning_state == "Succeeded"


def test_delete_of_an_attached_disk_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id, data_disk_sizes=[8])
    delete = clients.compute.disks.begin_delete
    for disk in ("vm-osdisk", "vm-data0"):
        assert failure(lambda disk=disk: delete(rg, disk).result()) == (409, "OperationNotAllowed")
    assert clients.compute.disks.get(rg, "vm-data0").properties.disk_state == "Attached"


def test_delete_of_a_nic_in_use_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    delete = clients.network.network_interfaces.begin_delete
    assert failure(lambda: delete(rg, "vm-nic").result()) == (400, "NicInUse")
    assert clients.network.network_interfaces.get(rg, "vm-nic").name == "vm-nic"


def test_vm_with_a_missing_nic_is_refused(clients: Clients, rg: str) -> None:
    missing = f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/ghost"
    create = clients.compute.virtual_machines.begin_create_or_update
    # Azure: "Resource <nic> referenced by resource <vm> was not found. Please make sure that the
    # referenced resource exists, and that both resources are in the same region."
    assert failure(lambda: create(rg, "vm", vm_body("vm", missing, UBUNTU_2204)).result()) == (
        400,
        "InvalidResourceReference",
    )


def test_vm_from_a_missing_image_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    nic = create_nic(clients, rg, "nic", subnet_id)
    missing = f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Compute/images/ghost"
    create = clients.compute.virtual_machines.begin_create_or_update
    # "NotFound: The Image {0} cannot be found." (error-messages table).
    assert failure(lambda: create(rg, "vm", vm_body("vm", nic, {"id": missing})).result()) == (
        404,
        "NotFound",
    )


def test_changing_a_gallery_version_source_is_refused(clients: Clients, rg: str) -> None:
    create_gallery_image(clients, rg)
    first = image_from_blob(clients, rg, "first", hyper_v="V2")
    second = image_from_blob(clients, rg, "second", hyper_v="V2")
    versions = clients.compute.gallery_image_versions
    versions.begin_create_or_update(rg, "gal", "web", "1.0.0", version_body(first.id, {"eastus": 1})).result()
    changed = version_body(second.id, {"eastus": 1})
    assert failure(lambda: versions.begin_create_or_update(rg, "gal", "web", "1.0.0", changed).result()) == (
        409,
        "PropertyChangeNotAllowed",
    )
    assert (
        versions.get(rg, "gal", "web", "1.0.0").properties.storage_profile.source.id.lower()
        == first.id.lower()
    )


def test_changing_an_image_source_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    image_from_blob(clients, rg, "img", hyper_v="V2")
    create_vm(clients, rg, "vm", subnet_id)
    generalize_in_place(clients, rg, "vm")
    assert failure(lambda: image_from_vm(clients, rg, "img", "vm")) == (409, "PropertyChangeNotAllowed")


def test_vm_from_an_image_captured_without_deprovision_fails_provisioning(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    image = captured_image(clients, rg, subnet_id, "dirty", deprovision=False)
    nic = create_nic(clients, rg, "clone-nic", subnet_id)
    poller = clients.compute.virtual_machines.begin_create_or_update(
        rg, "clone", vm_body("clone", nic, {"id": image.id})
    )
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert error_code(caught.value) == "OSProvisioningTimedOut"
    assert clients.compute.virtual_machines.get(rg, "clone").properties.provisioning_state == "Failed"


def test_vm_from_an_image_captured_after_deprovision_provisions(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    image = captured_image(clients, rg, subnet_id, "clean", deprovision=True)
    vm = create_vm(clients, rg, "clone", subnet_id, image_reference={"id": image.id})
    assert vm.properties.provisioning_state == "Succeeded"


def test_run_command_whose_last_line_exits_non_zero_fails(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    # The action API: the Run Command extension reports the failure, the operation fails with it.
    with pytest.raises(HttpResponseError) as caught:
        run_script(clients, rg, "vm", ["echo about to fail", "exit 3"])
    assert error_code(caught.value) == "VMExtensionProvisioningError"
    assert "exit status=3" in str(caught.value)

    # The managed Run Command: the deployment succeeds, the instance view says how the script ended.
    commands = clients.compute.virtual_machine_run_commands
    body = {"location": "eastus", "properties": {"source": {"script": "echo about to fail\nexit 3"}}}
    commands.begin_create_or_update(rg, "vm", "failing", body).result()
    view = commands.get_by_virtual_machine(
        rg, "vm", "failing", expand="instanceView"
    ).properties.instance_view
    assert view.execution_state == "Failed"
    assert view.exit_code == 3

    # ... unless the caller asks for a failed script to fail the deployment.
    strict = {
        "location": "eastus",
        "properties": {**body["properties"], "treatFailureAsDeploymentFailure": True},
    }
    with pytest.raises(HttpResponseError) as caught:
        commands.begin_create_or_update(rg, "vm", "strict", strict).result()
    assert error_code(caught.value) == "VMExtensionProvisioningError"


def test_run_command_without_exit_status_succeeds(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    result = run_script(clients, rg, "vm", ["exit 3", "echo recovered"])
    assert all("/succeeded" in status.code for status in result.value)


def test_sysprep_with_shutdown_leaves_the_windows_vm_stopped(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    profile = {"computerName": "win", "adminUsername": "azureadmin", "adminPassword": COMPLEX_PASSWORD}
    create_vm(clients, rg, "win", subnet_id, image_reference=WINDOWS_2022, os_profile=profile)
    assert power_state(clients, rg, "win") == "PowerState/running"
    run_script(clients, rg, "win", [SYSPREP_SHUTDOWN], command_id="RunPowerShellScript")
    assert power_state(clients, rg, "win") == "PowerState/stopped"
    # Then the usual capture works and the image provisions new VMs.
    clients.compute.virtual_machines.begin_deallocate(rg, "win").result()
    clients.compute.virtual_machines.generalize(rg, "win")
    image = image_from_vm(clients, rg, "winimg", "win")
    assert image.properties.storage_profile.os_disk.os_type == "Windows"
    clone_profile = {**profile, "computerName": "clone"}
    clone = create_vm(
        clients, rg, "clone", subnet_id, image_reference={"id": image.id}, os_profile=clone_profile
    )
    assert clone.properties.provisioning_state == "Succeeded"


def test_deprovision_among_other_script_lines_is_recorded(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    run_script(clients, rg, "vm", ["echo nothing to see"])
    run_script(clients, rg, "vm", [DEPROVISION_LINUX, "echo done"])
    clients.compute.virtual_machines.begin_deallocate(rg, "vm").result()
    clients.compute.virtual_machines.generalize(rg, "vm")
    image = image_from_vm(clients, rg, "img", "vm")
    clone = create_vm(clients, rg, "clone", subnet_id, image_reference={"id": image.id})
    assert clone.properties.provisioning_state == "Succeeded"


def test_vm_id_shape(clients: Clients, rg: str, subnet_id: str) -> None:
    vm = create_vm(clients, rg, "vm", subnet_id)
    assert vm.id == vm_id(clients, rg, "vm")


# -- concurrency limits and replica readiness ------------------------------------------------------


@pytest.fixture(scope="module")
def replicating(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Speed 50: replication takes about seven seconds, a VM create over a second."""
    with start_emulator(tmp_path_factory.mktemp("replicas"), speed=50.0, throttling=False) as em:
        yield em


@dataclass
class Operation:
    """A submitted create, followed on its Azure-AsyncOperation URL."""

    arm: Arm
    url: str

    def outcome(self) -> str | None:
        """None when the operation succeeded, else its ARM error code."""

        def finished() -> dict[str, Any] | None:
            body = self.arm.request("GET", self.url, api_version=None).json()
            return body if body["status"] != "InProgress" else None

        body = wait_until(finished)
        return None if body["status"] == "Succeeded" else body["error"]["code"]


def submit_creates(
    em: Any, clients: Clients, rg: str, names: list[str], subnet: str, image_id: str, location: str
) -> list[Operation]:
    """Create NICs, then submit every VM create at once (threads); return their operations."""
    nic_pollers = [
        clients.network.network_interfaces.begin_create_or_update(
            rg, f"{name}-nic", nic_body(location, subnet)
        )
        for name in names
    ]
    nics = [poller.result().id for poller in nic_pollers]
    bodies = {
        name: vm_body(name, nic, {"id": image_id}, location=location)
        for name, nic in zip(names, nics, strict=True)
    }
    arm = Arm(em, bearer_token(clients.credential))

    # Only the PUTs while submitting: SDK pollers polling meanwhile would slow the submission
    # down and spread the creates out in simulated time.
    def submit(name: str) -> Operation:
        urls: list[str] = []
        clients.compute.virtual_machines.begin_create_or_update(
            rg,
            name,
            bodies[name],
            polling=False,
            raw_response_hook=lambda response: urls.append(
                response.http_response.headers.get("Azure-AsyncOperation", "")
            ),
        )
        return Operation(arm, urls[-1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(submit, names))


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A VM create takes two seconds here, so many creates are in flight at once."""
    with start_emulator(tmp_path_factory.mktemp("slow"), speed=30.0, throttling=False) as em:
        yield em


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_more_than_20_concurrent_creates_from_one_managed_image_fail(slow: Any) -> None:
    clients = make_clients(slow)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    operations = submit_creates(slow, clients, rg, [f"vm{i}" for i in range(22)], subnet, image.id, "eastus")
    codes = [operation.outcome() for operation in operations]
    assert codes.count(None) == 20
    assert codes.count("ConcurrentDeploymentLimitExceeded") == 2
    # The limit is on concurrent creates: once those are done, the image serves again.
    [late] = submit_creates(slow, clients, rg, ["late"], subnet, image.id, "eastus")
    assert late.outcome() is None


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_gallery_replicas_gate_and_limit_deployments(replicating: Any) -> None:
    clients = make_clients(replicating)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    create_gallery_image(clients, rg)
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    versions = clients.compute.gallery_image_versions
    versions.begin_create_or_update(
        rg, "gal", "web", "1.0.0", version_body(image.id, {"eastus": 1}), polling=False
    )
    version_id = versions.get(rg, "gal", "web", "1.0.0").id

    # Not replicated yet in eastus: the create fails; never targeted (westus): refused outright.
    [early] = submit_creates(replicating, clients, rg, ["early"], subnet, version_id, "eastus")
    assert early.outcome() == "GalleryImageVersionNotReplicated"
    west_subnet = create_subnet(clients, rg, "westus", vnet="westnet")
    with pytest.raises(HttpResponseError) as caught:
        submit_creates(replicating, clients, rg, ["west"], west_subnet, version_id, "westus")
    assert (caught.value.status_code, error_code(caught.value)) == (400, "InvalidParameter")

    wait_until(
        lambda: (
            versions.get(
                rg, "gal", "web", "1.0.0", expand="ReplicationStatus"
            ).properties.replication_status.aggregated_state
            == "Completed"
        )
    )
    # One replica serves 20 concurrent deployments: the 21st fails.
    operations = submit_creates(
        replicating, clients, rg, [f"vm{i}" for i in range(21)], subnet, version_id, "eastus"
    )
    outcomes = [operation.outcome() for operation in operations]
    assert outcomes.count(None) == 20
    assert outcomes.count("ConcurrentDeploymentLimitExceeded") == 1
