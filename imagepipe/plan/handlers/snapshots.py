"""Snapshots of a source VM's disks: quiesce -> snapshots -> restore-source.

Used by specialized captures (snapshots ``<capture>-os``/``-data<lun>``) and by
preserved-source generalized captures (``<capture>-src-os``/``-src-data<lun>``).
Quiesce writes the VM's power state into the tag ``imagepipe-quiesced`` before
powering it off, so a kill at any point still lets restore-source start it again
and then remove the tag: the source ends exactly as it was.
"""

from __future__ import annotations

from typing import Any

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.graph.step import Step
from imagepipe.plan.context import TAG_HASH, TAG_QUIESCED, Context, desired_record
from imagepipe.plan.handlers import naming
from imagepipe.plan.handlers.base import Evaluation, Handler, StepFailed
from imagepipe.plan.observe import Observer
from imagepipe.spec.model import Capture


def snapshot_prefix(capture: Capture) -> str:
    return f"{capture.name}-src" if capture.type == "generalized" else capture.name


def source_disks(ctx: Context, capture: Capture, obs: Observer) -> list[tuple[str, str | None]]:
    """(suffix, disk id) of every disk of the source: ``os`` then ``data<lun>``."""
    source: Any = ctx.document(capture.source)
    if source.kind == "SourceVHD":
        return [("os", source.os_disk_uri)] + [
            (f"data{i}", uri) for i, uri in enumerate(source.data_disk_uris)
        ]
    vm = obs.vm(source.resource_group, source.vm_name)
    if vm is not None:
        props = vm["properties"]
        disks = [("os", props["os_disk"].get("id"))]
        disks += [
            (f"data{d['lun']}", d.get("id")) for d in sorted(props["data_disks"], key=lambda d: d["lun"])
        ]
        return disks
    luns = range(len(source.create.data_disks)) if source.create else []
    return [("os", None)] + [(f"data{lun}", None) for lun in luns]


def snapshot_desired(ctx: Context, capture: Capture, obs: Observer, address: str) -> list[r.Record]:
    source: Any = ctx.document(capture.source)
    target = capture.snapshots
    assert target is not None
    hashed_base = naming.capture_hashed(ctx, capture)
    out = []
    for suffix, disk_id in source_disks(ctx, capture, obs):
        props = {"source_id": disk_id, "incremental": target.incremental}
        if suffix == "os" and source.kind == "SourceVHD":
            props["os_type"] = source.os_type
        hashed = {
            **hashed_base,
            "disk": suffix,
            "incremental": target.incremental,
            "location": source.location_name,
        }
        out.append(
            desired_record(
                r.SNAPSHOT,
                target.resource_group,
                f"{snapshot_prefix(capture)}-{suffix}",
                source.location_name,
                ctx.tags(address, hashed),
                props,
            )
        )
    return out


def snapshots_done(ctx: Context, capture: Capture, obs: Observer) -> bool:
    address = f"{capture.ref}/{'snapshot-source-disks' if capture.type == 'generalized' else 'snapshots'}"
    for desired in snapshot_desired(ctx, capture, obs, address):
        seen = obs.get(r.SNAPSHOT, desired["resource_group"], desired["name"])
        if seen is None or not ctx.owns(seen) or seen["tags"].get(TAG_HASH) != desired["tags"][TAG_HASH]:
            return False
        if (seen.get("provisioning_state") or "").lower() != "succeeded":
            return False
    return True


class SnapshotStepHandler(Handler):
    def capture(self, step: Step, ctx: Context) -> tuple[Capture, Any]:
        capture: Any = ctx.document(step.document)
        return capture, ctx.document(capture.source)

    def finished(self, step: Step, ctx: Context, obs: Observer) -> str | None:
        """Why the snapshots need not be taken (again)."""
        capture, _ = self.capture(step, ctx)
        if capture.type == "generalized":
            from imagepipe.plan.handlers.capture import image_done

            if image_done(ctx, capture, obs):
                return f"image {capture.image.name} exists with this capture's hash"
        if snapshots_done(ctx, capture, obs):
            return "the snapshots exist with this capture's hash"
        return None


class QuiesceHandler(SnapshotStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture, source = self.capture(step, ctx)
        if capture.type == "specialized" and capture.quiesce == "none":
            return self.change(
                step, "no-op", "quiesce: none: the disks are snapshotted running (crash-consistent)"
            )
        done = self.finished(step, ctx, obs)
        if done:
            return self.change(step, "no-op", done)
        vm = obs.vm(source.resource_group, source.vm_name)
        if vm is not None and vm.get("power_state") in ("stopped", "deallocated"):
            return self.change(step, "no-op", f"VM {source.vm_name} is not running", observed=vm)
        rid = ctx.resource_id(r.VM, source.resource_group, source.vm_name)
        return self.change(
            step, "action", f"power off VM {source.vm_name} so that every disk is consistent", resource_id=rid
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
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


class SnapshotsHandler(SnapshotStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        from imagepipe.plan.handlers.disks import multi_evaluate

        capture, _ = self.capture(step, ctx)
        done = self.finished(step, ctx, obs)
        if done and capture.type == "generalized":
            return self.change(step, "no-op", done)
        return multi_evaluate(
            self, step, ctx, obs, snapshot_desired(ctx, capture, obs, step.address), "snapshot"
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        from imagepipe.plan.handlers.disks import multi_act

        for pending in ev.extra.get("pending", []):
            if pending.desired["properties"]["source_id"] is None:
                raise StepFailed(step.address, f"no disk to snapshot for {pending.desired['name']}")
        multi_act(step, ev, azure)  # every disk at once: as consistent as it gets


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
        quiesced = not (capture.type == "specialized" and capture.quiesce == "none")
        if (
            quiesced
            and not self.finished(step, ctx, obs)
            and (vm is None or vm.get("power_state") == "running")
        ):
            return self.change(
                step, "action", f"start VM {source.vm_name} again once its disks are snapshotted", observed=vm
            )
        return self.change(step, "no-op", f"VM {source.vm_name} is as it was before the capture", observed=vm)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        _, source = self.capture(step, ctx)
        rg, name = source.resource_group, source.vm_name
        vm = azure.get(r.VM, rg, name)
        if vm is None or TAG_QUIESCED not in vm["tags"]:
            return
        if vm["tags"][TAG_QUIESCED] == "running" and vm.get("power_state") != "running":
            azure.start(rg, name).wait()
        tags = {k: v for k, v in vm["tags"].items() if k != TAG_QUIESCED}
        azure.update_tags(r.VM, rg, name, tags).wait()
