"""Snapshots of a source VM's disks: quiesce (or restore-point) -> snapshots -> restore-source.

Used by specialized captures (snapshots ``<capture>-os``/``-data<lun>``) and by
preserved-source generalized captures (``<capture>-src-os``/``-src-data<lun>``).
Quiesce writes the VM's power state into the tag ``imagepipe-quiesced`` before
powering it off, so a kill at any point still lets restore-source start it again
and then remove the tag: the source ends exactly as it was.

``quiesce: none`` snapshots the running VM (crash-consistent). ``quiesce: restorePoint``
takes an application-consistent VM restore point instead (the VM keeps running) and no
snapshots: its disk restore points are a specialized capture's output, or the disks of a
preserved-source capture's temporary VM (its cleanup deletes the collection).
"""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.flow import builds_on_restore_point
from imagepipe.graph.step import Step
from imagepipe.spec.model import Capture, SourceVM
from imagepipe.steps.base import Handler
from imagepipe.steps.context import TAG_HASH, TAG_QUIESCED, Context
from imagepipe.steps.desired.capture import (
    restore_point_collection_desired,
    restore_point_desired,
    snapshot_desired,
    source_disks,
)
from imagepipe.steps.evaluation import Evaluation, StepFailed, multi_evaluate
from imagepipe.steps.facts import captured_output, image_done, snapshots_done
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import multi_act, settle


class SnapshotStepHandler(Handler):
    def capture(self, step: Step, ctx: Context) -> tuple[Capture, SourceVM]:
        """The capture and its source VM (a VHD's snapshots have no quiesce or restore)."""
        capture = ctx.capture(step.document)
        return capture, ctx.source_vm(capture.source)

    def finished(self, step: Step, ctx: Context, obs: Observer) -> str | None:
        """Why the snapshots need not be taken (again)."""
        capture = ctx.capture(step.document)
        if capture.type == "generalized" and image_done(ctx, capture, obs):
            return f"{captured_output(capture)} exists with this capture's hash"
        if not builds_on_restore_point(capture) and snapshots_done(ctx, capture, obs):
            return "the snapshots exist with this capture's hash"
        return None


CRASH_CONSISTENT_RISK = (
    "quiesce: none: the disks are snapshotted while the VM runs (crash-consistent: "
    "writes in flight may be lost, each disk at a slightly different instant)"
)


class QuiesceHandler(SnapshotStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture, source = self.capture(step, ctx)
        if capture.quiesce == "none":
            return self.change(step, "no-op", CRASH_CONSISTENT_RISK)
        done = self.finished(step, ctx, obs)
        if done:
            return self.change(step, "no-op", done)
        vm = obs.vm(source.resource_group, source.vm_name)
        if vm is not None and vm.get("power_state") in ("stopped", "deallocated"):
            return self.change(step, "no-op", f"VM {source.vm_name} is not running", observed=vm)
        rid = ctx.resource_id(r.VM, source.resource_group, source.vm_name)
        disks = len(source_disks(ctx, capture, obs))
        return self.change(
            step,
            "action",
            f"tag VM {source.vm_name} with its power state and power it off so that every disk is "
            f"consistent; downtime: {source.vm_name} stays off until restore-source starts it again, "
            f"after the snapshot of its {disks} disk{'s' if disks != 1 else ''}",
            resource_id=rid,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        _, source = self.capture(step, ctx)
        rg, name = source.resource_group, source.vm_name
        vm = azure.get(r.VM, rg, name)
        if vm is None:
            raise StepFailed(step.address, f"source VM {name} not found")
        if TAG_QUIESCED not in vm["tags"]:
            azure.update_tags(
                r.VM, rg, name, {**vm["tags"], TAG_QUIESCED: vm.get("power_state") or "unknown"}
            ).wait()
        azure.power_off(rg, name).wait()


class RestorePointHandler(SnapshotStepHandler):
    """A restore point of every disk of the running source: the VM is never powered off."""

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture, source = self.capture(step, ctx)
        done = self.finished(step, ctx, obs)
        if done:
            return self.change(step, "no-op", done)
        wanted = restore_point_desired(ctx, capture)
        collection = restore_point_collection_desired(ctx, capture)
        seen = obs.get(r.RESTORE_POINT, wanted["resource_group"], wanted["name"])
        if (
            seen is not None
            and seen.get("provisioning_state") == "Succeeded"
            and _current(
                collection,
                obs.get(r.RESTORE_POINT_COLLECTION, collection["resource_group"], collection["name"]),
            )
        ):
            return self.change(step, "no-op", f"restore point {wanted['name']} exists", observed=seen)
        use = (
            "its disk restore points are the capture"
            if capture.type == "specialized"
            else "the temporary VM's disks are made from its disk restore points"
        )
        return self.change(
            step,
            "create",
            f"application-consistent restore point of VM {source.vm_name} (it keeps running); {use}",
            desired=collection,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        capture, _ = self.capture(step, ctx)
        collection = restore_point_collection_desired(ctx, capture)
        rg = collection["resource_group"]
        left = azure.get(r.RESTORE_POINT_COLLECTION, rg, collection["name"])
        if left is not None and not _current(collection, left):
            # Left by a run on an earlier state of the source: its restore point is stale.
            azure.delete(r.RESTORE_POINT_COLLECTION, rg, collection["name"]).wait()
        azure.create(collection).wait()
        wanted = restore_point_desired(ctx, capture)
        rg, name = wanted["resource_group"], wanted["name"]
        seen = settle(azure, r.RESTORE_POINT, rg, name, step.address)  # one an earlier run started
        if seen is not None and seen.get("provisioning_state") != "Succeeded":
            azure.delete(r.RESTORE_POINT, rg, name).wait()  # a failed one cannot be updated
            seen = None
        if seen is None:
            azure.create(wanted).wait()


class SnapshotsHandler(SnapshotStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        done = self.finished(step, ctx, obs)
        if done and capture.type == "generalized":
            return self.change(step, "no-op", done)
        wanted = snapshot_desired(ctx, capture, obs, step.address)
        return multi_evaluate(step, ctx, obs, wanted, "snapshot", _new_source)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        for pending in ev.extra.get("pending", []):
            if pending.desired["properties"]["source_id"] is None:
                raise StepFailed(step.address, f"no disk to snapshot for {pending.desired['name']}")
        multi_act(step, ev, azure)  # every disk at once: as consistent as it gets


def _new_source(desired: r.Record, observed: r.Record | None) -> list[str]:
    """A snapshot copies its source once: another source is a new snapshot."""
    wanted = desired["properties"].get("source_id")
    seen = ((observed or {}).get("properties") or {}).get("source_id")
    if wanted and seen and wanted.lower() != seen.lower():
        return ["source"]
    return []


def _current(desired: r.Record, observed: r.Record | None) -> bool:
    """A restore point collection made for the source as the spec describes it now."""
    return observed is not None and observed["tags"].get(TAG_HASH) == desired["tags"][TAG_HASH]


class RestoreSourceHandler(SnapshotStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture, source = self.capture(step, ctx)
        vm = obs.vm(source.resource_group, source.vm_name)
        if vm is not None and TAG_QUIESCED in vm["tags"]:
            before = vm["tags"][TAG_QUIESCED]
            what = "start it again and " if before == "running" else ""
            return self.change(
                step,
                "action",
                f"VM {source.vm_name} was {before}: {what}remove the quiesce mark",
                observed=vm,
            )
        quiesced = capture.quiesce == "stop"
        if (
            quiesced
            and not self.finished(step, ctx, obs)
            and (vm is None or vm.get("power_state") == "running")
        ):
            return self.change(
                step,
                "action",
                f"start VM {source.vm_name} again once its disks are snapshotted (the end of its "
                f"downtime) and remove the quiesce tag",
                observed=vm,
            )
        return self.change(step, "no-op", f"VM {source.vm_name} is as it was before the capture", observed=vm)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        _, source = self.capture(step, ctx)
        rg, name = source.resource_group, source.vm_name
        vm = azure.get(r.VM, rg, name)
        if vm is None or TAG_QUIESCED not in vm["tags"]:
            return
        if vm["tags"][TAG_QUIESCED] == "running" and vm.get("power_state") != "running":
            azure.start(rg, name).wait()
        tags = {k: v for k, v in vm["tags"].items() if k != TAG_QUIESCED}
        azure.update_tags(r.VM, rg, name, tags).wait()
