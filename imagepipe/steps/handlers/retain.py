"""``gallery.retain: N``: keep the newest N versions of a capture's image definition, delete the
older ones this stack made once no VM or scale set in the subscription uses them.

Runs after every step that deploys the capture: a fleet that rolls to the new version in the
same apply leaves the old one, which then goes. The plan counts those steps' VMs as already on
the desired version (they will be once their steps succeed; if one fails, this step does not run).
"""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.steps.base import Handler
from imagepipe.steps.context import Context
from imagepipe.steps.evaluation import Evaluation
from imagepipe.steps.facts import retention, version_of
from imagepipe.steps.port import Observer, Provider


class GalleryRetainHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        assert capture.gallery is not None
        found = retention(ctx, capture, obs)
        notes = [
            f"{version} kept: used by {', '.join(users[:3])}{f' and {len(users) - 3} more' if len(users) > 3 else ''}"
            for version, users in found.in_use.items()
        ]
        if found.foreign:
            notes.append(f"{', '.join(found.foreign)} kept: not made by this stack")
        kept = f"; {'; '.join(notes)}" if notes else ""
        if not found.delete:
            return self.change(step, "no-op", f"retain {capture.gallery.retain}: nothing to delete{kept}")
        names = ", ".join(version_of(v) for v in found.delete)
        return self.change(
            step,
            "delete",
            f"retain {capture.gallery.retain}: delete gallery image versions {names} "
            f"(older than the newest {capture.gallery.retain}, used by no VM or scale set){kept}",
            None,
            None,
            delete=found.delete,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        pending = [
            azure.delete(r.GALLERY_VERSION, v["resource_group"], v["name"]) for v in ev.extra["delete"]
        ]
        for operation in pending:
            operation.wait()
