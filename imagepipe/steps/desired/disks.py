"""Managed disks copied from a capture's snapshots or disk restore points (a restored Deployment instance's ``disks[i]``,
a preserved-source capture's ``temp-disks``), and the VM that attaches them."""

from __future__ import annotations

from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph.flow import builds_on_restore_point
from imagepipe.spec import security
from imagepipe.spec.model import Capture, Deployment
from imagepipe.steps.context import Context, desired_record
from imagepipe.steps.desired.capture import (
    restore_point_disks,
    restore_point_id,
    snapshot_prefix,
    source_disks,
)
from imagepipe.steps.desired.names import deployment_nic, security_properties
from imagepipe.steps.port import Observer


def disk_name(vm_name: str, suffix: str) -> str:
    return f"{vm_name}-osdisk" if suffix == "os" else f"{vm_name}-{suffix}"


def restored_disks(
    ctx: Context,
    capture: Capture,
    obs: Observer,
    rg: str,
    location: str,
    vm_name: str,
    address: str,
    extra_tags: dict[str, str] | None = None,
) -> list[r.Record]:
    """One disk per snapshot of the capture (or disk restore point), for the VM ``vm_name``."""
    snapshots = capture.snapshots
    assert snapshots is not None
    if builds_on_restore_point(capture, ctx.source(capture.source)):
        # A disk restore point's id is known once its restore point exists (its name carries a
        # GUID): the hash names the restore point, so a plan made before it stays true.
        point = restore_point_id(ctx, capture)
        sources = [
            (suffix, drp, {"restore_point": point, "suffix": suffix})
            for suffix, drp in restore_point_disks(ctx, capture, obs)
        ]
    else:
        sources = []
        for suffix, _ in source_disks(ctx, capture, obs):
            snapshot_id = ctx.resource_id(
                r.SNAPSHOT, snapshots.resource_group, f"{snapshot_prefix(capture)}-{suffix}"
            )
            sources.append((suffix, snapshot_id, {"source_id": snapshot_id, "suffix": suffix}))
    out = []
    for suffix, source_id, identity in sources:
        props = {"source_id": source_id, "suffix": suffix}
        hashed = {"location": location, **identity}
        out.append(
            desired_record(
                r.DISK, rg, disk_name(vm_name, suffix), location, ctx.tags(address, hashed, extra_tags), props
            )
        )
    return out


def deployment_disks(
    ctx: Context, dep: Deployment, index: int, obs: Observer, address: str
) -> list[r.Record]:
    """The disks of a restored Deployment's VM ``index``, made by its ``disks[i]`` step (``address``)."""
    capture = ctx.capture(dep.image)
    vm_name = dep.vm_name(index)
    return restored_disks(
        ctx, capture, obs, dep.resource_group, dep.location_name, vm_name, address, dict(dep.tags)
    )


def other_snapshot(desired: r.Record, observed: r.Record | None) -> list[str]:
    """A disk made from another snapshot than the capture's now: made again (Azure never
    changes a disk's creationData)."""
    seen = ((observed or {}).get("properties") or {}).get("source_id")
    wanted = desired["properties"]["source_id"]
    # No id yet: a restore point not taken yet (its disks' hash names the restore point).
    if seen and wanted and seen.lower() != wanted.lower():
        return [f"source snapshot {seen.rsplit('/', 1)[-1]} -> {wanted.rsplit('/', 1)[-1]}"]
    return []


def restored_from_other_snapshots(ctx: Context, dep: Deployment, index: int, obs: Observer) -> bool:
    """A VM of a specialized Deployment whose disks its disk step makes again (it is replaced)."""
    if ctx.capture(dep.image).type != "specialized":
        return False
    wanted = deployment_disks(ctx, dep, index, obs, "")
    return any(other_snapshot(d, obs.get(r.DISK, d["resource_group"], d["name"])) for d in wanted)


def attach_properties(disks: list[r.Record]) -> dict[str, Any]:
    os_disk = next(d for d in disks if d["properties"]["suffix"] == "os")
    data = {
        int(d["properties"]["suffix"].removeprefix("data")): d["id"]
        for d in disks
        if d["properties"]["suffix"] != "os"
    }
    return {"os": os_disk["id"], "data": data}


def with_ids(ctx: Context, disks: list[r.Record]) -> list[r.Record]:
    for d in disks:
        d["id"] = ctx.resource_id(r.DISK, d["resource_group"], d["name"])
    return disks


def restored_vm_properties(ctx: Context, dep: Deployment, index: int, obs: Observer) -> dict[str, Any]:
    capture = ctx.capture(dep.image)
    vm = dep.vm_name(index)
    disks = with_ids(ctx, restored_disks(ctx, capture, obs, dep.resource_group, dep.location_name, vm, ""))
    return {
        "size": dep.size,
        "zones": [dep.zones[index % len(dep.zones)]] if dep.zones else [],
        "image": "",
        **deployment_nic(ctx, dep, vm),
        "admin_username": None,
        "os_type": ctx.source(capture.source).os_type,
        "attach": attach_properties(disks),
        "os_disk": {"name": f"{vm}-osdisk"},
        "data_disks": [],
        **security_properties(
            security.deployment_type(ctx.specset.documents, dep), dep.security_type is not None
        ),
    }
