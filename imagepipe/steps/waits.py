"""What an act waits for: one polling helper, and the waits and multi-resource acts built on it.

Every wait polls a condition against a deadline at an interval derived from the
provider's polling interval (short against an emulator, seconds against Azure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.steps.context import SubmittedOperations
from imagepipe.steps.evaluation import TRANSITIONAL, Evaluation, StepFailed
from imagepipe.steps.port import Observer, Operation, Provider

T = TypeVar("T")

SETTLE_TIMEOUT_S = 3600.0
STOP_TIMEOUT_S = 3600.0
REPLICATION_TIMEOUT_S = 6 * 3600.0


def every(
    provider: Provider, factor: float = 1.0, floor: float = 0.05, ceiling: float | None = None
) -> float:
    """A polling interval: ``factor`` times the provider's, at least ``floor``, at most ``ceiling``."""
    interval = max(provider.polling_interval * factor, floor)
    return interval if ceiling is None else min(interval, ceiling)


def until(
    check: Callable[[], T | None],
    *,
    interval: float,
    timeout: float,
    address: str,
    timed_out: Callable[[], str],
) -> T:
    """Poll ``check`` until it answers (anything but None), sleeping ``interval`` between reads;
    past ``timeout`` seconds the step fails with the message ``timed_out()``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise StepFailed(address, timed_out())
        time.sleep(interval)


def settle(azure: Provider, type_: str, rg: str, name: str, address: str) -> r.Record | None:
    """Wait until a resource left in a transitional state by an earlier run settles."""
    last: list[r.Record] = []

    def settled() -> tuple[r.Record | None] | None:
        rec = azure.get(type_, rg, name)
        if rec is None or (rec.get("provisioning_state") or "").lower() not in TRANSITIONAL:
            return (rec,)
        last[:] = [rec]
        return None

    def why() -> str:
        return f"{type_} {name} stayed {last[0]['provisioning_state']} for too long"

    interval = min(every(azure) * 4, 2.0)
    return until(settled, interval=interval, timeout=SETTLE_TIMEOUT_S, address=address, timed_out=why)[0]


def wait_run_command(azure: Provider, rg: str, vm: str, name: str, address: str) -> r.Record:
    def ended() -> r.Record | None:
        rc = azure.get_run_command(rg, vm, name)
        if rc is None:
            raise StepFailed(address, f"run command {name} on {vm} vanished")
        return rc if rc["properties"].get("execution_state") not in ("Running", "Pending", None) else None

    return until(
        ended,
        interval=every(azure),
        timeout=STOP_TIMEOUT_S,
        address=address,
        timed_out=lambda: f"run command {name} on {vm} did not finish",
    )


def verify_run_command(address: str, rc: r.Record, what: str) -> None:
    props = rc["properties"]
    if props.get("execution_state") != "Succeeded" or props.get("exit_code") not in (0, None):
        detail = (props.get("error") or props.get("output") or "").strip().splitlines()
        tail = detail[-1] if detail else "no output"
        raise StepFailed(
            address,
            f"{what} failed in the guest (state {props.get('execution_state')}, exit code {props.get('exit_code')}): {tail}",
        )


def wait_stopped(azure: Provider, rg: str, vm: str, address: str) -> None:
    """sysprep /shutdown stops the VM when it is done: that is its verification."""

    def stopped() -> bool | None:
        rec = azure.get(r.VM, rg, vm)
        return True if rec is not None and rec.get("power_state") in ("stopped", "deallocated") else None

    until(
        stopped,
        interval=every(azure),
        timeout=STOP_TIMEOUT_S,
        address=address,
        timed_out=lambda: f"VM {vm} did not stop after sysprep",
    )


def _failed(record: r.Record) -> bool:
    return (record.get("provisioning_state") or "").lower() == "failed"


def until_version_usable(
    address: str, azure: Provider, obs: Observer, rg: str, name: str, operation: Operation | None
) -> None:
    """Return once a replica is Completed or the operation ended; a Failed version fails the step."""

    def usable() -> bool | None:
        version = azure.get(r.GALLERY_VERSION, rg, name)
        # The step's verification reads through the observer, which may still hold the
        # absence it saw before the create: return only once it sees the version too.
        if version is None or obs.get(r.GALLERY_VERSION, rg, name) is None:
            return None
        state = (version.get("provisioning_state") or "").lower()
        if state == "failed":
            if operation is not None:
                operation.wait()  # raises Azure's error: resource, operation, code, message
            return True  # left Failed by an earlier run: the verification recreates it
        replicas = version["properties"]["replication"].values()
        return True if state == "succeeded" or "Completed" in replicas else None

    until(
        usable,
        interval=every(azure, floor=0.02),
        timeout=REPLICATION_TIMEOUT_S,
        address=address,
        timed_out=lambda: f"gallery image version {name} has no completed replica",
    )


def wait_for_replica(
    azure: Provider,
    version_id: str,
    region: str,
    address: str,
    submitted: SubmittedOperations,
    obs: Observer | None = None,
) -> None:
    """Block until the version's replica in ``region`` is Completed; a Failed version or replica
    fails at once (with Azure's error when this run submitted the version).

    ``obs`` (the apply's observer) shares one read of the version among a fan-out's VMs.
    """
    reader: Observer | Provider = obs if obs is not None else azure
    rg = r.resource_group_of(version_id)
    parts = version_id.split("/")
    name = "/".join([parts[-5], parts[-3], parts[-1]])
    region = region.replace(" ", "").lower()

    def replicated() -> bool | None:
        version = reader.get(r.GALLERY_VERSION, rg, name)
        if version is None:
            raise StepFailed(address, f"gallery image version {name} not found")
        state = version["properties"]["replication"].get(region)
        if state == "Completed":
            return True
        if state == "Failed" or _failed(version):
            if _failed(version):
                submitted.raise_error(version_id)
            raise StepFailed(
                address, f"gallery image version {name} failed: its replica in {region} is {state}"
            )
        if (
            state is None
            and version["properties"]["regions"]
            and region not in version["properties"]["regions"]
        ):
            raise StepFailed(address, f"gallery image version {name} is not replicated to {region}")
        return None

    until(
        replicated,
        interval=every(azure, factor=5, floor=0.1, ceiling=5.0),
        timeout=REPLICATION_TIMEOUT_S,
        address=address,
        timed_out=lambda: f"replication of {name} to {region} did not finish",
    )


def delete_vm(azure: Provider, rg: str, name: str) -> None:
    """Delete a VM and then its disks (Azure deletes them too when deleteOption says so)."""
    current = azure.get(r.VM, rg, name)
    azure.delete(r.VM, rg, name).wait()
    if current is None:
        return
    disks = [current["properties"]["os_disk"], *current["properties"]["data_disks"]]
    owner = current["tags"].get("imagepipe-spec")
    for disk in disks:
        if disk.get("name"):
            disk_rg = r.resource_group_of(disk.get("id") or "") or rg
            found = azure.get(r.DISK, disk_rg, disk["name"])
            made_by = (found or {}).get("tags", {}).get("imagepipe-spec")
            if found is None or (made_by and made_by != owner):
                continue  # an attached disk its own step made (restore, temporaries) outlives the VM
            azure.delete(r.DISK, disk_rg, disk["name"]).wait()


def delete_resource(azure: Provider, record: r.Record) -> None:
    """Delete one resource and wait for it; a VM takes the disks it made along."""
    if r.is_type(record, r.VM):
        delete_vm(azure, record["resource_group"], record["name"])
    else:
        azure.delete(record["type"], record["resource_group"], record["name"]).wait()


def multi_act(step: Step, ev: Evaluation, azure: Provider) -> None:
    """Create every pending resource of a multi-resource step at once, then wait for them all."""
    operations = []
    for pending in ev.extra.get("pending", []):
        desired = pending.desired
        if pending.extra.get("wait"):
            settle(azure, desired["type"], desired["resource_group"], desired["name"], step.address)
            continue
        if pending.change.action == "replace":
            azure.delete(desired["type"], desired["resource_group"], desired["name"]).wait()
        operations.append(azure.create(desired))
    for operation in operations:
        operation.wait()
