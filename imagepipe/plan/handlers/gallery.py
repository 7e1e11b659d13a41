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

import threading
import time
from typing import Any

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure, Handle
from imagepipe.graph.step import Step
from imagepipe.plan.context import TAG_HASH, Context, desired_record
from imagepipe.plan.handlers import naming
from imagepipe.plan.handlers.base import Evaluation, Handler, StepFailed, compare_resource
from imagepipe.plan.handlers.resources import ResourceHandler
from imagepipe.plan.observe import Observer

REPLICATION_TIMEOUT_S = 6 * 3600.0

# The create operations this process submitted, by version id: their pollers carry
# Azure's error when a version ends Failed (a version's GET does not).
_submitted: dict[str, Handle] = {}
_submitted_lock = threading.Lock()


def _remember(version_id: str, handle: Handle) -> None:
    with _submitted_lock:
        _submitted[version_id.lower()] = handle


def raise_version_error(version_id: str) -> None:
    """Raise Azure's own error of a Failed version this run submitted (AzureOperationError)."""
    with _submitted_lock:
        handle = _submitted.get(version_id.lower())
    if handle is not None:
        handle.wait()  # the operation has ended Failed: this raises with Azure's code and message


def _failed(record: r.Record) -> bool:
    return (record.get("provisioning_state") or "").lower() == "failed"


def gallery_of(ctx: Context, step: Step) -> tuple[Any, Any, Any]:
    capture: Any = ctx.document(step.document)
    return capture, capture.gallery, ctx.document(capture.source)


def hyper_v_generation(ctx: Context, source: Any, obs: Observer) -> str:
    """The source's VM generation: observed when the source exists, else from its marketplace image."""
    if getattr(source, "vm_name", None):
        vm = obs.vm(source.resource_group, source.vm_name)
        if vm is not None and vm.get("hyper_v_generation"):
            return vm["hyper_v_generation"]
    image = (source.create.image if getattr(source, "create", None) else "") or ""
    urn = naming.resolve_marketplace(image).lower() if image and not image.startswith("Capture/") else ""
    return "V2" if ("gen2" in urn or "gensecond" in urn) else "V1"


class GalleryHandler(ResourceHandler):
    kind = "gallery"

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
        if observed is not None and not ctx.owns(observed):
            # Galleries are shared between teams: use one that exists, never change or delete it.
            return self.change(
                step,
                "no-op",
                f"gallery {gallery.name} exists and is not owned by this stack: used as is",
                None,
                observed,
            )
        return compare_resource(step, ctx, desired, observed, [], [], self.kind)


class GalleryImageHandler(ResourceHandler):
    kind = "image definition"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        _, gallery, source = gallery_of(ctx, step)
        definition = gallery.definition
        identifier = {"publisher": definition.publisher, "offer": definition.offer, "sku": definition.sku}
        props = {
            "os_type": source.os_type,
            "os_state": "Generalized",
            "hyper_v_generation": hyper_v_generation(ctx, source, obs),
            "identifier": identifier,
        }
        hashed = {"location": source.location_name, "os_type": source.os_type, "identifier": identifier}
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
            if seen.get("identifier") != identifier or seen.get("os_type") != source.os_type:
                return self.change(
                    step,
                    "conflict",
                    f"image definition {definition.name} exists with another identifier or OS type; definitions "
                    f"are immutable: give it a new name",
                    desired,
                    observed,
                )
            if not ctx.owns(observed):
                return self.change(
                    step, "no-op", f"image definition {definition.name} exists: used as is", None, observed
                )
        return compare_resource(step, ctx, desired, observed, [], [], self.kind)


def version_desired(ctx: Context, capture: Any) -> r.Record:
    gallery, source = capture.gallery, ctx.document(capture.source)
    regions = {t.name.replace(" ", "").lower(): t.replicas for t in gallery.target_regions}
    image = capture.image
    props = {"source_id": ctx.resource_id(r.IMAGE, image.resource_group, image.name), "regions": regions}
    hashed = {**naming.capture_hashed(ctx, capture), "regions": regions, "location": source.location_name}
    name = f"{gallery.name}/{gallery.definition.name}/{gallery.version}"
    return desired_record(
        r.GALLERY_VERSION,
        gallery.resource_group,
        name,
        source.location_name,
        ctx.tags(f"{capture.ref}/gallery-version", hashed),
        props,
    )


class GalleryVersionHandler(Handler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture: Any = ctx.document(step.document)
        desired = version_desired(ctx, capture)
        observed = obs.get(r.GALLERY_VERSION, desired["resource_group"], desired["name"])
        version = capture.gallery.version
        if observed is not None and ctx.owns(observed) and not _failed(observed):
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
        if observed is not None and ctx.owns(observed) and _failed(observed):
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

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        desired = ev.desired
        assert desired is not None
        rg, name = desired["resource_group"], desired["name"]
        version_id = ctx.resource_id(r.GALLERY_VERSION, rg, name)
        if ev.change.action == "replace":
            azure.delete(r.GALLERY_VERSION, rg, name).wait()
        handle: Handle | None = None
        if ev.change.action in ("create", "replace") and not ev.extra.get("wait"):
            # Followed by a poller (in its own thread): its result is Azure's verdict on the version.
            handle = azure.create(desired)
            _remember(version_id, handle)
        self._until_usable(step, azure, obs, rg, name, handle)

    @staticmethod
    def _until_usable(
        step: Step, azure: Azure, obs: Observer, rg: str, name: str, handle: Handle | None
    ) -> None:
        """Return once a replica is Completed or the operation ended; a Failed version fails the step."""
        deadline = time.monotonic() + REPLICATION_TIMEOUT_S
        interval = max(azure.target.polling_interval, 0.02)
        while True:
            version = azure.get(r.GALLERY_VERSION, rg, name)
            # The step's verification reads through the observer, which may still hold the
            # absence it saw before the create: return only once it sees the version too.
            if version is not None and obs.get(r.GALLERY_VERSION, rg, name) is not None:
                state = (version.get("provisioning_state") or "").lower()
                if state == "failed":
                    if handle is not None:
                        handle.wait()  # raises Azure's error: resource, operation, code, message
                    return  # left Failed by an earlier run: the verification recreates it
                replicas = version["properties"]["replication"].values()
                if state == "succeeded" or "Completed" in replicas:
                    return
            if time.monotonic() > deadline:
                raise StepFailed(step.address, f"gallery image version {name} has no completed replica")
            time.sleep(interval)


def wait_for_replica(
    azure: Azure, version_id: str, region: str, address: str, obs: Observer | None = None
) -> None:
    """Block until the version's replica in ``region`` is Completed; a Failed version or replica
    fails at once (with Azure's error when this run submitted the version).

    ``obs`` (the apply's observer) shares one read of the version among a fan-out's VMs.
    """
    reader: Any = obs if obs is not None else azure
    rg = r.resource_group_of(version_id)
    parts = version_id.split("/")
    name = "/".join([parts[-5], parts[-3], parts[-1]])
    region = region.replace(" ", "").lower()
    deadline = time.monotonic() + REPLICATION_TIMEOUT_S
    while True:
        version = reader.get(r.GALLERY_VERSION, rg, name)
        if version is None:
            raise StepFailed(address, f"gallery image version {name} not found")
        state = version["properties"]["replication"].get(region)
        if state == "Completed":
            return
        if state == "Failed" or _failed(version):
            if _failed(version):
                raise_version_error(version_id)
            raise StepFailed(
                address, f"gallery image version {name} failed: its replica in {region} is {state}"
            )
        if (
            state is None
            and version["properties"]["regions"]
            and region not in version["properties"]["regions"]
        ):
            raise StepFailed(address, f"gallery image version {name} is not replicated to {region}")
        if time.monotonic() > deadline:
            raise StepFailed(address, f"replication of {name} to {region} did not finish")
        time.sleep(min(max(azure.target.polling_interval * 5, 0.1), 5.0))
