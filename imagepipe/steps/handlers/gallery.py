"""Azure Compute Gallery: gallery -> image definition -> image version (from the managed image).

A version is immutable: its ``imagepipe-hash`` (the capture's hash plus the target
regions) makes a rerun adopt it, and a different hash under the same version
number is refused (bump the version). The version step ends as soon as one
region's replica is Completed (or the version's operation ended), so the
deployments of that region start while the others still replicate; it fails with
Azure's error when the version ends Failed before that. An owned Failed version
is recreated under the same number: it never served anything.
"""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec.model import Capture, GalleryTarget, SourceVHD, SourceVM
from imagepipe.spec.security import definition_security, source_architecture
from imagepipe.steps.base import Handler, ResourceHandler
from imagepipe.steps.context import TAG_HASH, TAG_SPEC, Context, desired_record
from imagepipe.steps.desired.capture import hyper_v_generation, version_desired
from imagepipe.steps.evaluation import Evaluation, compare_resource
from imagepipe.steps.port import Observer, Operation, Provider
from imagepipe.steps.waits import until_version_usable


def _failed(record: r.Record) -> bool:
    return (record.get("provisioning_state") or "").lower() == "failed"


def gallery_of(ctx: Context, step: Step) -> tuple[Capture, GalleryTarget, SourceVM | SourceVHD]:
    capture = ctx.capture(step.document)
    assert capture.gallery is not None
    return capture, capture.gallery, ctx.source(capture.source)


class GalleryHandler(ResourceHandler):
    label = "gallery"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        _, gallery, source = gallery_of(ctx, step)
        location = source.location_name
        desired = desired_record(
            r.GALLERY,
            gallery.resource_group,
            gallery.name,
            location,
            ctx.tags(step.address, {"location": location}),
            {},
        )
        observed = obs.get(r.GALLERY, gallery.resource_group, gallery.name)
        if observed is not None and not ctx.owns(observed, step.address):
            # Galleries are shared between teams and captures: use one that exists, never change
            # or delete it (another capture of this stack may have made it).
            return self.change(
                step,
                "no-op",
                f"gallery {gallery.name} exists and is not owned by this stack: used as is",
                None,
                observed,
            )
        return compare_resource(step, ctx, desired, observed, [], [], self.label)


class GalleryImageHandler(ResourceHandler):
    label = "image definition"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        _, gallery, source = gallery_of(ctx, step)
        definition = gallery.definition
        identifier = {"publisher": definition.publisher, "offer": definition.offer, "sku": definition.sku}
        capture = ctx.capture(step.document)
        feature = definition_security(ctx.specset.documents, capture) or observed_definition_security(
            source, obs
        )
        props = {
            "os_type": source.os_type,
            "os_state": "Generalized",
            "hyper_v_generation": hyper_v_generation(source, obs),
            "identifier": identifier,
            "security_type": feature,
            "architecture": source_architecture(ctx.specset.documents, source),
        }
        hashed = {"location": source.location_name, "os_type": source.os_type, "identifier": identifier}
        if feature == "TrustedLaunch":  # only what departs from Azure's default changes the hash
            hashed["security_type"] = feature
        name = f"{gallery.name}/{definition.name}"
        desired = desired_record(
            r.GALLERY_IMAGE,
            gallery.resource_group,
            name,
            source.location_name,
            ctx.tags(step.address, hashed),
            props,
        )
        observed = obs.get(r.GALLERY_IMAGE, gallery.resource_group, name)
        if observed is not None:
            seen = observed["properties"]
            if _security_conflict(seen, feature):
                return self.change(
                    step,
                    "conflict",
                    f"image definition {definition.name} exists with SecurityType "
                    f"{seen.get('security_type') or 'Standard'}, but {capture.source} needs {feature}; "
                    "definitions are immutable: give it a new name",
                    desired,
                    observed,
                )
            if seen.get("identifier") != identifier or seen.get("os_type") != source.os_type:
                return self.change(
                    step,
                    "conflict",
                    f"image definition {definition.name} exists with another identifier or OS type; definitions "
                    f"are immutable: give it a new name",
                    desired,
                    observed,
                )
            if not ctx.owns(observed, step.address):
                return self.change(
                    step, "no-op", f"image definition {definition.name} exists: used as is", None, observed
                )
        return compare_resource(step, ctx, desired, observed, [], [], self.label)


def _security_conflict(seen: dict, feature: str | None) -> bool:
    """A Trusted Launch source needs a TrustedLaunch definition; a Standard one, one that allows Standard."""
    held = seen.get("security_type") or "Standard"
    if feature == "TrustedLaunch":
        return held != "TrustedLaunch"
    return held in ("TrustedLaunch", "ConfidentialVM")


def observed_definition_security(source: SourceVM | SourceVHD, obs: Observer) -> str | None:
    """For an existing source: TrustedLaunch when the observed VM is Trusted Launch."""
    if isinstance(source, SourceVM) and source.existing:
        vm = obs.vm(source.resource_group, source.vm_name)
        if vm is not None and vm["properties"].get("security_type") == "TrustedLaunch":
            return "TrustedLaunch"
    return None


class GalleryVersionHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture, gallery, _ = gallery_of(ctx, step)
        desired = version_desired(ctx, capture)
        observed = obs.get(r.GALLERY_VERSION, desired["resource_group"], desired["name"])
        version = gallery.version
        mine = ctx.owns(observed, desired["tags"][TAG_SPEC])
        if observed is not None and mine and not _failed(observed):
            if observed["tags"].get(TAG_HASH) != desired["tags"][TAG_HASH]:
                return self.change(
                    step,
                    "conflict",
                    f"gallery image version {version} exists from another source or regions, and versions are "
                    f"immutable: bump the version of Capture {capture.name}",
                    desired,
                    observed,
                )
            state = (observed.get("provisioning_state") or "").lower()
            if state in ("creating", "updating", "succeeded"):
                pending = [
                    reg for reg, s in observed["properties"]["replication"].items() if s != "Completed"
                ]
                note = (
                    f"; replicating to {', '.join(sorted(pending))}"
                    if pending and state != "succeeded"
                    else ""
                )
                return self.change(
                    step,
                    "no-op",
                    f"gallery image version {version} exists with this capture's hash: adopted{note}",
                    desired,
                    observed,
                )
        if observed is not None and mine and _failed(observed):
            desired["id"] = observed["id"]
            return self.change(
                step,
                "replace",
                f"gallery image version {version} ended Failed and never served a deployment: recreated "
                f"under the same version number",
                desired,
                observed,
            )
        return compare_resource(step, ctx, desired, observed, [], [], "gallery image version")

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        desired = ev.desired
        assert desired is not None
        rg, name = desired["resource_group"], desired["name"]
        if ev.change.action == "replace":
            azure.delete(r.GALLERY_VERSION, rg, name).wait()
        operation: Operation | None = None
        if ev.change.action in ("create", "replace") and not ev.extra.get("wait"):
            # Followed by a poller (in its own thread): its result is Azure's verdict on the version.
            operation = azure.create(desired)
            ctx.submitted.remember(ctx.resource_id(r.GALLERY_VERSION, rg, name), operation)
        until_version_usable(step.address, azure, obs, rg, name, operation)
