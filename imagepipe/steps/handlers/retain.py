"""``gallery.retain: N``: keep the newest N versions of a capture's image definition, delete the
older ones this stack made once no VM or scale set in the subscription uses them.

Runs after every step that deploys the capture: a fleet that rolls to the new version in the
same apply leaves the old one, which then goes. The plan counts those steps' VMs as already on
the desired version (they will be once their steps succeed; if one fails, this step does not run).
"""

from __future__ import annotations

from dataclasses import dataclass

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec.model import Capture, Deployment
from imagepipe.steps.base import Handler
from imagepipe.steps.context import TAG_SPEC, Context
from imagepipe.steps.evaluation import Evaluation
from imagepipe.steps.port import Observer, Provider


@dataclass(frozen=True)
class Retention:
    delete: tuple[r.Record, ...]  # owned versions past the newest N that nothing uses
    in_use: dict[str, list[str]]  # version -> what uses it ("VM rg/name", "scale set rg/name")
    foreign: tuple[str, ...]  # versions past the newest N that another stack or a person made


def _number(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def _version_of(rec: r.Record) -> str:
    return rec["name"].rsplit("/", 1)[-1]


def _moving_with_the_capture(ctx: Context, capture: Capture, rec: r.Record) -> bool:
    """A VM or scale set this stack deploys from the capture: on the desired version after apply."""
    address = rec["tags"].get(TAG_SPEC, "")
    if not ctx.owns(rec) or address not in ctx.graph:
        return False
    doc = ctx.specset.documents.get(ctx.graph.step(address).document)
    return isinstance(doc, Deployment) and doc.image == capture.ref


def retention(ctx: Context, capture: Capture, obs: Observer) -> Retention:
    gallery = capture.gallery
    assert gallery is not None and gallery.retain is not None
    prefix = f"{gallery.name}/{gallery.definition.name}/".lower()
    versions = [
        rec
        for rec in obs.gallery_children(gallery.resource_group, gallery.name)
        if rec["type"].lower() == r.GALLERY_VERSION.lower() and rec["name"].lower().startswith(prefix)
    ]
    numbers = sorted({_version_of(v) for v in versions} | {gallery.version}, key=_number, reverse=True)
    kept = set(numbers[: gallery.retain]) | {gallery.version}
    older = [v for v in versions if _version_of(v) not in kept]
    users: dict[str, list[str]] = {}
    if older:
        ids = {v["id"].lower(): _version_of(v) for v in older}
        for type_, noun in ((r.VM, "VM"), (r.VMSS, "scale set")):
            for rec in obs.list_all(type_):
                version = ids.get((rec["properties"].get("image") or "").lower())
                if version is not None and not _moving_with_the_capture(ctx, capture, rec):
                    users.setdefault(version, []).append(f"{noun} {rec['resource_group']}/{rec['name']}")
    mine = [v for v in older if ctx.owns(v)]
    return Retention(
        delete=tuple(
            sorted((v for v in mine if _version_of(v) not in users), key=lambda v: _number(_version_of(v)))
        ),
        in_use={k: sorted(v) for k, v in sorted(users.items())},
        foreign=tuple(sorted((_version_of(v) for v in older if not ctx.owns(v)), key=_number)),
    )


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
        names = ", ".join(_version_of(v) for v in found.delete)
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
