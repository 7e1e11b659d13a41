"""Managed disks copied from a capture's snapshots: a restored Deployment instance's
``disks[i]`` and a preserved-source capture's ``temp-disks``."""

from __future__ import annotations

from typing import Any

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.graph.step import Step
from imagepipe.plan.context import Context, desired_record
from imagepipe.plan.handlers.base import Evaluation, Handler, StepFailed, compare_resource
from imagepipe.plan.handlers.naming import deployment_nic
from imagepipe.plan.handlers.resources import settle
from imagepipe.plan.handlers.snapshots import snapshot_prefix, source_disks
from imagepipe.plan.observe import Observer
from imagepipe.spec.model import Capture, Deployment


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
    """One disk per snapshot of the capture, for the VM ``vm_name``."""
    snapshots = capture.snapshots
    assert snapshots is not None
    out = []
    for suffix, _ in source_disks(ctx, capture, obs):
        snapshot_id = ctx.resource_id(
            r.SNAPSHOT, snapshots.resource_group, f"{snapshot_prefix(capture)}-{suffix}"
        )
        props = {"source_id": snapshot_id, "suffix": suffix}
        hashed = {"location": location, **props}
        out.append(
            desired_record(
                r.DISK, rg, disk_name(vm_name, suffix), location, ctx.tags(address, hashed, extra_tags), props
            )
        )
    return out


def multi_evaluate(
    handler: Handler, step: Step, ctx: Context, obs: Observer, wanted: list[r.Record], kind: str
) -> Evaluation:
    """One step that owns several resources of one type: the first conflict, else what is left to do."""
    evaluations = [
        compare_resource(step, ctx, d, obs.get(d["type"], d["resource_group"], d["name"]), [], [], kind)
        for d in wanted
    ]
    for ev in evaluations:
        if ev.change.action == "conflict":
            return ev
    pending = [ev for ev in evaluations if ev.change.action != "no-op"]
    if not pending:
        return handler.change(step, "no-op", f"{len(wanted)} {kind}s are up to date")
    names = ", ".join(ev.desired["name"] for ev in pending if ev.desired)
    first = pending[0]
    action = "replace" if any(ev.change.action == "replace" for ev in pending) else "create"
    change = handler.change(step, action, f"{kind} {names}", first.desired, first.observed).change
    return Evaluation(change, first.desired, first.observed, {"pending": pending})


def multi_act(step: Step, ev: Evaluation, azure: Azure) -> None:
    handles = []
    for pending in ev.extra.get("pending", []):
        desired = pending.desired
        if pending.extra.get("wait"):
            settle(azure, desired["type"], desired["resource_group"], desired["name"], step.address)
            continue
        if pending.change.action == "replace":
            azure.delete(desired["type"], desired["resource_group"], desired["name"]).wait()
        handles.append(azure.create(desired))
    for handle in handles:
        handle.wait()


class DeploymentDisksHandler(Handler):
    def wanted(self, step: Step, ctx: Context, obs: Observer) -> list[r.Record]:
        dep: Any = ctx.document(step.document)
        capture: Any = ctx.document(dep.image)
        vm_name = dep.vm_name(step.index or 0)
        return restored_disks(
            ctx, capture, obs, dep.resource_group, dep.location_name, vm_name, step.address, dict(dep.tags)
        )

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        return multi_evaluate(self, step, ctx, obs, self.wanted(step, ctx, obs), "disk")

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        multi_act(step, ev, azure)


class TempDisksHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        from imagepipe.plan.handlers.capture import image_done

        capture: Any = ctx.document(step.document)
        if image_done(ctx, capture, obs):
            return self.change(step, "no-op", f"image {capture.image.name} exists: no temporary disks needed")
        return multi_evaluate(self, step, ctx, obs, self.wanted(step, ctx, obs), "temporary disk")

    def wanted(self, step: Step, ctx: Context, obs: Observer) -> list[r.Record]:
        capture: Any = ctx.document(step.document)
        source: Any = ctx.document(capture.source)
        return restored_disks(
            ctx,
            capture,
            obs,
            capture.snapshots.resource_group,
            source.location_name,
            f"{capture.name}-tmp",
            step.address,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        if not ev.extra.get("pending"):
            raise StepFailed(step.address, ev.change.reason)
        multi_act(step, ev, azure)


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
    capture: Any = ctx.document(dep.image)
    vm = dep.vm_name(index)
    disks = with_ids(ctx, restored_disks(ctx, capture, obs, dep.resource_group, dep.location_name, vm, ""))
    return {
        "size": dep.size,
        "zones": [dep.zones[index % len(dep.zones)]] if dep.zones else [],
        "image": "",
        **deployment_nic(ctx, dep, vm),
        "admin_username": None,
        "os_type": ctx.document(capture.source).os_type,
        "attach": attach_properties(disks),
        "os_disk": {"name": f"{vm}-osdisk"},
        "data_disks": [],
    }
