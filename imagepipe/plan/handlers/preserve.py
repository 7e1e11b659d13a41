"""Preserved-source generalized capture: a temporary VM on copies of the source's disks is
generalized instead of the source; ``cleanup`` deletes every temporary once the image exists."""

from __future__ import annotations

from typing import Any

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.graph.step import Step
from imagepipe.plan.context import Context, desired_record
from imagepipe.plan.handlers.base import Evaluation, Handler, compare_resource
from imagepipe.plan.handlers.capture import image_done
from imagepipe.plan.handlers.disks import attach_properties, restored_disks, with_ids
from imagepipe.plan.handlers.resources import ResourceHandler, delete_vm
from imagepipe.plan.handlers.snapshots import snapshot_prefix, source_disks
from imagepipe.plan.observe import Observer
from imagepipe.spec.model import Capture

DEFAULT_TEMP_SIZE = "Standard_B2s"


def temp_subnet(ctx: Context, source: Any, obs: Observer) -> str | None:
    if source.create is not None:
        return ctx.subnet_id(source.resource_group, source.create.subnet.vnet, source.create.subnet.name)
    vm = obs.get(r.VM, source.resource_group, source.vm_name)
    nic_id = next(iter((vm or {}).get("properties", {}).get("nic_ids") or []), None)
    if not nic_id:
        return None
    nic = obs.get(r.NIC, r.resource_group_of(nic_id), nic_id.rsplit("/", 1)[-1])
    return (nic or {}).get("properties", {}).get("subnet_id")


class TempVmHandler(ResourceHandler):
    kind = "temporary VM"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture: Any = ctx.document(step.document)
        source: Any = ctx.document(capture.source)
        if image_done(ctx, capture, obs):
            return self.change(step, "no-op", f"image {capture.image.name} exists: no temporary VM needed")
        rg, location, name = capture.snapshots.resource_group, source.location_name, f"{capture.name}-tmp"
        nic_props = {"subnet_id": temp_subnet(ctx, source, obs)}
        nic = desired_record(
            r.NIC,
            rg,
            f"{name}-nic",
            location,
            ctx.tags(step.address, {"location": location, **nic_props}),
            nic_props,
        )
        nic_ev = compare_resource(step, ctx, nic, obs.get(r.NIC, rg, nic["name"]), [], [], "temporary NIC")
        if nic_ev.change.action != "no-op":
            return nic_ev
        disks = with_ids(
            ctx, restored_disks(ctx, capture, obs, rg, location, name, f"{capture.ref}/temp-disks")
        )
        seen_source = obs.get(r.VM, source.resource_group, source.vm_name)
        size = (
            (source.create.size if source.create else None)
            or (seen_source or {}).get("properties", {}).get("size")
            or DEFAULT_TEMP_SIZE
        )
        props = {
            "size": size,
            "zones": [],
            "image": "",
            "nic_ids": [nic["id"]],
            "admin_username": None,
            "os_type": source.os_type,
            "attach": attach_properties(disks),
            "os_disk": {"name": f"{name}-osdisk"},
            "data_disks": [],
        }
        vm = desired_record(
            r.VM, rg, name, location, ctx.tags(step.address, {"location": location, **props}), props
        )
        return compare_resource(step, ctx, vm, obs.get(r.VM, rg, name), [], [], self.kind)

    def delete(self, azure: Azure, record: r.Record) -> None:
        if record["type"] == r.VM:
            delete_vm(azure, record["resource_group"], record["name"])
        else:
            azure.delete(record["type"], record["resource_group"], record["name"]).wait()


def temporaries(ctx: Context, capture: Capture, obs: Observer) -> list[r.Record]:
    """Every temporary of a preserved-source capture that exists and is ours, in deletion order."""
    rg = capture.snapshots.resource_group
    name = f"{capture.name}-tmp"
    suffixes = [suffix for suffix, _ in source_disks(ctx, capture, obs)]
    wanted = [(r.VM, name), (r.NIC, f"{name}-nic")]
    wanted += [(r.DISK, f"{name}-osdisk" if s == "os" else f"{name}-{s}") for s in suffixes]
    wanted += [(r.SNAPSHOT, f"{snapshot_prefix(capture)}-{s}") for s in suffixes]
    found = [obs.get(type_, rg, n) for type_, n in wanted]
    return [rec for rec in found if rec is not None and ctx.owns(rec)]


class CleanupHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture: Any = ctx.document(step.document)
        left = temporaries(ctx, capture, obs)
        if not left:
            return self.change(step, "no-op", "no temporaries left")
        names = ", ".join(rec["name"] for rec in left)
        return self.change(step, "action", f"delete the temporaries {names}", extra_records=left)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        capture: Any = ctx.document(step.document)
        for rec in temporaries(ctx, capture, obs):
            if rec["type"] == r.VM:
                delete_vm(azure, rec["resource_group"], rec["name"])
            else:
                azure.delete(rec["type"], rec["resource_group"], rec["name"]).wait()
