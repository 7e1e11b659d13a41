"""The long-running-operation protocol and simulated time, seen on the wire and through the SDK."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from imagepipe.emulator import timing

from .helpers import (
    API,
    UBUNTU_2204,
    Arm,
    Clients,
    bearer_token,
    create_nic,
    create_subnet,
    create_vm,
    power_state,
    set_clock,
    vm_body,
    wait_until,
)


def rg_path(clients: Clients, rg: str) -> str:
    return f"/subscriptions/{clients.subscription_id}/resourceGroups/{rg}"


def assert_operation_url(url: str, api_version: str) -> None:
    parsed = urlparse(url)
    assert parsed.scheme == "https"
    assert parse_qs(parsed.query).get("api-version") == [api_version]


def operation_status(arm: Arm, url: str) -> dict[str, Any]:
    response = arm.request("GET", url, api_version=None)
    assert response.status_code == 200, response.text
    return response.json()


def test_create_action_and_delete_answer_as_arm_lros(
    emulator: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    nic = create_nic(clients, rg, "vm-nic", subnet_id)
    vm_path = f"{rg_path(clients, rg)}/providers/Microsoft.Compute/virtualMachines/vm"

    created = arm.request("PUT", vm_path, body=vm_body("vm", nic, UBUNTU_2204))
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["provisioningState"] in {"Creating", "Succeeded"}
    assert_operation_url(created.headers["Azure-AsyncOperation"], API["compute"])
    # The swagger declares Retry-After on 201/202 as int32 seconds (the SDK deserializes it as int).
    assert created.headers.get("Retry-After", "1").isdigit()
    assert created.headers.get("x-ms-request-id")
    status = wait_until(
        lambda: (
            (s := operation_status(arm, created.headers["Azure-AsyncOperation"]))["status"] != "InProgress"
            and s
        )
    )
    assert status["status"] == "Succeeded"

    updated = arm.request("PUT", vm_path, body=vm_body("vm", nic, UBUNTU_2204) | {"tags": {"v": "2"}})
    assert updated.status_code == 200, updated.text
    if "Azure-AsyncOperation" in updated.headers:  # an update is an operation too: let it finish
        wait_until(
            lambda: operation_status(arm, updated.headers["Azure-AsyncOperation"])["status"] != "InProgress"
        )

    for action in ("powerOff", "start", "restart", "deallocate"):
        answer = arm.request("POST", f"{vm_path}/{action}")
        assert answer.status_code == 202, (action, answer.text)
        assert_operation_url(answer.headers["Azure-AsyncOperation"], API["compute"])
        assert answer.headers["Location"].startswith("https://")
        done = wait_until(
            lambda a=answer: (
                operation_status(arm, a.headers["Azure-AsyncOperation"])["status"] != "InProgress"
            )
        )
        assert done
        final = arm.request("GET", answer.headers["Location"], api_version=None)
        assert final.status_code in {200, 204}, (action, final.text)

    generalized = arm.request("POST", f"{vm_path}/generalize")
    assert generalized.status_code == 200, generalized.text

    deleted = arm.request("DELETE", vm_path)
    assert deleted.status_code == 202, deleted.text
    # A DELETE answers with both headers (the swagger's long-running DELETE, as ARM's RPC says).
    assert_operation_url(deleted.headers["Azure-AsyncOperation"], API["compute"])
    assert_operation_url(deleted.headers["Location"], API["compute"])
    assert "monitor=true" in deleted.headers["Location"]
    wait_until(lambda: arm.request("GET", vm_path).status_code == 404)
    # Deleting what does not exist is not an error.
    assert arm.request("DELETE", vm_path).status_code == 204


def test_disk_and_gallery_creates_use_their_documented_codes(
    emulator: Any, clients: Clients, rg: str
) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    disk = arm.request(
        "PUT",
        f"{rg_path(clients, rg)}/providers/Microsoft.Compute/disks/d1",
        body={
            "location": "eastus",
            "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4},
        },
        api_version=API["disks"],
    )
    assert disk.status_code in {200, 202}, disk.text
    gallery = arm.request(
        "PUT",
        f"{rg_path(clients, rg)}/providers/Microsoft.Compute/galleries/g1",
        body={"location": "eastus", "properties": {}},
        api_version=API["gallery"],
    )
    assert gallery.status_code in {200, 201, 202}, gallery.text


def test_an_older_api_version_and_segment_case_are_accepted(emulator: Any, clients: Clients, rg: str) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    path = f"/SUBSCRIPTIONS/{clients.subscription_id}/resourcegroups/{rg}/providers/microsoft.compute/disks?api-version=2019-07-01"
    response = arm.request("GET", path, api_version=None)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


def test_provisioning_state_moves_from_creating_to_succeeded(
    emulator: Any, clients: Clients, rg: str
) -> None:
    nic = create_nic(clients, rg, "vm-nic", create_subnet(clients, rg))
    set_clock(emulator, paused=True)  # the create is in flight until the clock is moved past it
    try:
        poller = clients.compute.virtual_machines.begin_create_or_update(
            rg, "vm", vm_body("vm", nic, UBUNTU_2204)
        )
        assert clients.compute.virtual_machines.get(rg, "vm").properties.provisioning_state == "Creating"
        assert poller.status() == "InProgress"
        set_clock(emulator, advance=timing.VM_CREATE)
        assert poller.result().properties.provisioning_state == "Succeeded"
        assert clients.compute.virtual_machines.get(rg, "vm").properties.provisioning_state == "Succeeded"

        deallocation = clients.compute.virtual_machines.begin_deallocate(rg, "vm")
        assert power_state(clients, rg, "vm") == "PowerState/deallocating"
        set_clock(emulator, advance=timing.VM_DEALLOCATE, paused=False)
        deallocation.result()
        assert power_state(clients, rg, "vm") == "PowerState/deallocated"
    finally:
        set_clock(emulator, paused=False)


def test_an_operation_lasts_its_simulated_duration(emulator: Any, clients: Clients, rg: str) -> None:
    """A VM create runs 60 simulated seconds: in progress a second before, done at 60."""
    arm = Arm(emulator, bearer_token(clients.credential))
    nic = create_nic(clients, rg, "vm-nic", create_subnet(clients, rg))
    set_clock(emulator, paused=True)
    try:
        created = arm.request(
            "PUT",
            f"{rg_path(clients, rg)}/providers/Microsoft.Compute/virtualMachines/vm",
            body=vm_body("vm", nic, UBUNTU_2204),
        )
        assert created.status_code == 201, created.text
        status_url = created.headers["Azure-AsyncOperation"]
        running = arm.request("GET", status_url, api_version=None)
        assert running.json()["status"] == "InProgress"
        # Clients are told when to poll again: about 10 simulated seconds, exactly in
        # retry-after-ms, in whole seconds (at least 1) in Retry-After as the RPC requires.
        assert int(running.headers["retry-after-ms"]) == max(10, round(10_000 / emulator.speed))
        assert running.headers["Retry-After"] == "1"
        set_clock(emulator, advance=timing.VM_CREATE - 1)
        assert arm.request("GET", status_url, api_version=None).json()["status"] == "InProgress"
        set_clock(emulator, advance=1)
        assert arm.request("GET", status_url, api_version=None).json()["status"] == "Succeeded"
    finally:
        set_clock(emulator, paused=False)


def test_sdk_pollers_finish_with_the_final_resource(clients: Clients, rg: str, subnet_id: str) -> None:
    vm = create_vm(clients, rg, "vm", subnet_id)
    assert vm.properties.provisioning_state == "Succeeded"
    result = clients.compute.virtual_machines.begin_power_off(rg, "vm").result()
    assert result is None


def test_resource_group_delete_is_an_lro(emulator: Any, clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    arm = Arm(emulator, bearer_token(clients.credential))
    path = f"/subscriptions/{clients.subscription_id}/resourcegroups/{rg}"
    deleted = arm.request("DELETE", path, api_version=API["resources"])
    assert deleted.status_code == 202, deleted.text
    location = deleted.headers["Location"]
    assert location.startswith("https://")
    wait_until(lambda: arm.request("GET", location, api_version=None).status_code != 202)
    assert arm.request("GET", path, api_version=API["resources"]).status_code == 404
    vm_path = f"{rg_path(clients, rg)}/providers/Microsoft.Compute/virtualMachines/vm"
    assert arm.request("GET", vm_path).status_code == 404
