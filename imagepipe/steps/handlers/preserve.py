"""Preserved-source generalized capture: a temporary VM on copies of the source's disks is
generalized instead of the source; ``cleanup`` deletes every temporary once the image exists."""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec import security
from imagepipe.steps.base import Handler, ResourceHandler
from imagepipe.steps.context import Context, desired_record
from imagepipe.steps.desired.disks import attach_properties, restored_disks, with_ids
from imagepipe.steps.desired.names import security_properties
from imagepipe.steps.evaluation import Evaluation, compare_resource
from imagepipe.steps.facts import captured_output, image_done, source_subnet, temporaries
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import delete_resource

DEFAULT_TEMP_SIZE = "Standard_B2s"


class TempVmHandler(ResourceHandler):
    label = "temporary VM"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        source = ctx.source_vm(capture.source)
        if image_done(ctx, capture, obs):
            return self.change(step, "no-op", f"{captured_output(capture)} exists: no temporary VM needed")
        assert capture.snapshots is not None
        rg, location, name = capture.snapshots.resource_group, source.location_name, f"{capture.name}-tmp"
        nic_props = {"subnet_id": source_subnet(ctx, source, obs)}
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
        # The copy boots as its source did: its disks keep the source's security type.
        kind = security.source_type(ctx.specset.documents, source) or (seen_source or {}).get(
            "properties", {}
        ).get("security_type")
        hashed = {"location": location, **props}
        props.update(security_properties(kind, kind is not None))
        vm = desired_record(r.VM, rg, name, location, ctx.tags(step.address, hashed), props)
        return compare_resource(step, ctx, vm, obs.get(r.VM, rg, name), [], [], self.label)

    def delete(self, azure: Provider, record: r.Record) -> None:
        delete_resource(azure, record)


class CleanupHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        left = temporaries(ctx, capture, obs)
        if not left:
            return self.change(step, "no-op", "no temporaries left")
        names = ", ".join(rec["name"] for rec in left)
        return self.change(step, "action", f"delete the temporaries {names}", extra_records=left)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        for rec in temporaries(ctx, ctx.capture(step.document), obs):
            delete_resource(azure, rec)
