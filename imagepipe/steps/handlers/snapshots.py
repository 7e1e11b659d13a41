"""Snapshots of a source VM's disks: quiesce -> snapshots -> restore-source.

Used by specialized captures (snapshots ``<capture>-os``/``-data<lun>``) and by
preserved-source generalized captures (``<capture>-src-os``/``-src-data<lun>``).
Quiesce writes the VM's power state into the tag ``imagepipe-quiesced`` before
powering it off, so a kill at any point still lets restore-source start it again
and then remove the tag: the source ends exactly as it was.
"""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec.model import Capture, SourceVM
from imagepipe.steps.base import Handler
from imagepipe.steps.context import TAG_QUIESCED, Context
from imagepipe.steps.desired.capture import snapshot_desired
from imagepipe.steps.evaluation import Evaluation, StepFailed, multi_evaluate
from imagepipe.steps.facts import captured_output, image_done, snapshots_done
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import multi_act


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


class SnapshotsHandler(SnapshotStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        done = self.finished(step, ctx, obs)
        if done and capture.type == "generalized":
            return self.change(step, "no-op", done)
        return multi_evaluate(step, ctx, obs, snapshot_desired(ctx, capture, obs, step.address), "snapshot")

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
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
