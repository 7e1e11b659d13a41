"""Managed disks copied from a capture's snapshots or disk restore points: a restored Deployment
instance's ``disks[i]`` and a preserved-source capture's ``temp-disks``."""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.flow import builds_on_restore_point
from imagepipe.graph.step import Step
from imagepipe.spec.model import Capture
from imagepipe.steps.base import Handler
from imagepipe.steps.context import Context
from imagepipe.steps.desired.disks import deployment_disks, other_snapshot, restored_disks
from imagepipe.steps.evaluation import Evaluation, StepFailed, multi_evaluate
from imagepipe.steps.facts import captured_output, image_done
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import delete_vm, multi_act


class DeploymentDisksHandler(Handler):
    def wanted(self, step: Step, ctx: Context, obs: Observer) -> list[r.Record]:
        return deployment_disks(ctx, ctx.deployment(step.document), step.index or 0, obs, step.address)

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        ev = multi_evaluate(step, ctx, obs, self.wanted(step, ctx, obs), "disk", other_snapshot)
        return _from_restore_point(ev, ctx.capture(ctx.deployment(step.document).image))

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        _check_sources(step, ev)
        if ev.change.action == "replace":
            # The disks are attached to this index's VM: it goes first (its VM step, in the same
            # wave of a rollout, makes it again on the new disks).
            dep = ctx.deployment(step.document)
            delete_vm(azure, dep.resource_group, dep.vm_name(step.index or 0))
        multi_act(step, ev, azure)


class TempDisksHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        if image_done(ctx, capture, obs):
            return self.change(step, "no-op", f"{captured_output(capture)} exists: no temporary disks needed")
        ev = multi_evaluate(step, ctx, obs, self.wanted(step, ctx, obs), "temporary disk", _other_source)
        return _from_restore_point(ev, capture)

    def wanted(self, step: Step, ctx: Context, obs: Observer) -> list[r.Record]:
        capture = ctx.capture(step.document)
        source = ctx.source(capture.source)
        assert capture.snapshots is not None
        return restored_disks(
            ctx,
            capture,
            obs,
            capture.snapshots.resource_group,
            source.location_name,
            f"{capture.name}-tmp",
            step.address,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        if not ev.extra.get("pending"):
            raise StepFailed(step.address, ev.change.reason)
        _check_sources(step, ev)
        multi_act(step, ev, azure)


def _from_restore_point(ev: Evaluation, capture: Capture) -> Evaluation:
    """The plan says what the disks are made from when it is not snapshots."""
    if ev.change.is_change and builds_on_restore_point(capture):
        ev.change.reason += f", restored from the disk restore points of {capture.ref}'s restore point"
    return ev


def _check_sources(step: Step, ev: Evaluation) -> None:
    for pending in ev.extra.get("pending", []):
        if pending.desired is not None and not pending.desired["properties"]["source_id"]:
            raise StepFailed(step.address, f"no disk restore point to restore {pending.desired['name']} from")


def _other_source(desired: r.Record, observed: r.Record | None) -> list[str]:
    """A temporary disk left from another restore point (a run killed before the source changed)."""
    wanted = desired["properties"].get("source_id")
    seen = ((observed or {}).get("properties") or {}).get("source_id")
    if wanted and seen and wanted.lower() != seen.lower():
        return ["source"]
    return []
