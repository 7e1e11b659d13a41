"""Rules called directly, without HTTP: kinds answer data (records, started operations) or raise ArmError.

A `ManualClock` decides every instant, so an operation is in flight exactly until the test
advances the clock past its simulated duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from imagepipe.emulator import ids, timing
from imagepipe.emulator.clock import ManualClock
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.kinds import KINDS, groups
from imagepipe.emulator.operations import Operations
from imagepipe.emulator.replies import Reply, Started
from imagepipe.emulator.store import Store
from imagepipe.emulator.types import NIC, VM, VNET

from .helpers import UBUNTU_2204, nic_body, vm_body

GROUP = "rules"


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Ctx]:
    store = Store(tmp_path)
    clock = ManualClock(speed=1.0)
    context = Ctx(
        store=store,
        ops=Operations(store, clock),
        clock=clock,
        base_url="https://emulator.invalid",
        subscription=ids.SUBSCRIPTION_ID,
        api_version="2024-07-01",
    )
    groups.put_group(context, GROUP, {"location": "eastus"})
    yield context
    store.close()


def resource_id(type_name: str, name: str) -> str:
    return f"{ids.group_id(ids.SUBSCRIPTION_ID, GROUP)}/providers/{type_name}/{name}"


def advance(ctx: Ctx, simulated: float) -> None:
    """Let `simulated` seconds pass and settle what ended, as the next request would."""
    ctx.clock.advance(simulated)
    ctx.ops.settle()


def put(ctx: Ctx, type_name: str, name: str, body: dict) -> Started:
    answer = KINDS[type_name.lower()].put(ctx, resource_id(type_name, name), body)
    assert isinstance(answer, Started)
    return answer


def running_vm(ctx: Ctx) -> str:
    vnet = {
        "location": "eastus",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/24"}}],
        },
    }
    put(ctx, VNET, "vnet", vnet)
    advance(ctx, timing.NETWORK)
    subnet_id = f"{resource_id(VNET, 'vnet')}/subnets/default"
    put(ctx, NIC, "vm-nic", nic_body("eastus", subnet_id))
    advance(ctx, timing.NETWORK)
    created = put(ctx, VM, "vm", vm_body("vm", resource_id(NIC, "vm-nic"), UBUNTU_2204))
    assert created.status == 201
    assert created.body is not None and created.body["properties"]["provisioningState"] == "Creating"
    advance(ctx, timing.VM_CREATE)
    return resource_id(VM, "vm")


def vm_action(ctx: Ctx, vm_id: str, action: str) -> Started | Reply:
    return KINDS[VM.lower()].action(ctx, vm_id, action, {})


def test_a_create_is_an_operation_that_ends_when_its_simulated_time_is_over(ctx: Ctx) -> None:
    vm_id = running_vm(ctx)
    record = KINDS[VM.lower()].get(ctx, vm_id)
    assert record["properties"]["provisioningState"] == "Succeeded"
    assert "_emu" not in record

    deallocation = vm_action(ctx, vm_id, "deallocate")
    assert isinstance(deallocation, Started)
    assert (deallocation.status, deallocation.location, deallocation.async_header) == (202, True, True)
    advance(ctx, timing.VM_DEALLOCATE - 1)
    assert ctx.ops.status(deallocation.op) == "InProgress"
    advance(ctx, 1)
    assert ctx.ops.status(deallocation.op) == "Succeeded"


def test_generalize_of_a_running_vm_is_refused(ctx: Ctx) -> None:
    vm_id = running_vm(ctx)
    with pytest.raises(ArmError) as refused:
        vm_action(ctx, vm_id, "generalize")
    assert (refused.value.status, refused.value.code) == (409, "OperationNotAllowed")
    assert "running" in refused.value.message


def test_a_generalized_vm_never_starts_again(ctx: Ctx) -> None:
    vm_id = running_vm(ctx)
    vm_action(ctx, vm_id, "deallocate")
    with pytest.raises(ArmError) as busy:  # the deallocation is still in flight
        vm_action(ctx, vm_id, "generalize")
    assert (busy.value.status, busy.value.code) == (409, "OperationNotAllowed")
    advance(ctx, timing.VM_DEALLOCATE)

    assert vm_action(ctx, vm_id, "generalize") == Reply(status=200)
    with pytest.raises(ArmError) as refused:
        vm_action(ctx, vm_id, "start")
    assert (refused.value.status, refused.value.code) == (409, "OperationNotAllowed")
    assert "generalized" in refused.value.message


def test_an_attached_disk_cannot_be_deleted(ctx: Ctx) -> None:
    vm_id = running_vm(ctx)
    record = KINDS[VM.lower()].get(ctx, vm_id)
    disk_id = record["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
    disk_kind = KINDS[ids.split(disk_id)["type"].lower()]
    with pytest.raises(ArmError) as refused:
        disk_kind.delete(ctx, disk_id)
    assert (refused.value.status, refused.value.code) == (409, "OperationNotAllowed")
