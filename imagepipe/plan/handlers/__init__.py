"""Which handler reconciles which step: one registry, keyed by document kind and step name.

New workflows (issue 5: preserved sources, galleries, snapshots, scale sets) are
new entries here and new handler classes; the planner and executor stay as they are.
"""

from __future__ import annotations

from typing import Any

from imagepipe.errors import ImagepipeError
from imagepipe.graph.step import Step
from imagepipe.plan.context import Context
from imagepipe.plan.handlers.base import Handler
from imagepipe.plan.handlers.capture import (
    DeallocateHandler,
    DeprovisionHandler,
    GeneralizeHandler,
    ImageHandler,
)
from imagepipe.plan.handlers.disks import DeploymentDisksHandler, TempDisksHandler
from imagepipe.plan.handlers.gallery import GalleryHandler, GalleryImageHandler, GalleryVersionHandler
from imagepipe.plan.handlers.preserve import CleanupHandler, TempVmHandler
from imagepipe.plan.handlers.resources import (
    ExistingVmHandler,
    NicHandler,
    ResourceGroupHandler,
    VirtualNetworkHandler,
    VmHandler,
)
from imagepipe.plan.handlers.scaleset import ScaleSetHandler
from imagepipe.plan.handlers.snapshots import QuiesceHandler, RestoreSourceHandler, SnapshotsHandler
from imagepipe.plan.handlers.source import CustomizeHandler

_GALLERY_STEPS: dict[str, Handler] = {
    "gallery": GalleryHandler(),
    "gallery-image": GalleryImageHandler(),
    "gallery-version": GalleryVersionHandler(),
}


class UnsupportedStep(ImagepipeError):
    """The specs ask for a workflow this version cannot reconcile yet."""


_SHARED: dict[str, Handler] = {
    "ResourceGroup": ResourceGroupHandler(),
    "VirtualNetwork": VirtualNetworkHandler(),
}
_NIC, _VM = NicHandler(), VmHandler()
_BY_STEP: dict[tuple[str, str], Handler] = {
    ("SourceVM", "nic"): _NIC,
    ("SourceVM", "vm"): _VM,
    ("SourceVM", "customize"): CustomizeHandler(),
    ("Deployment", "vm"): _VM,
    ("Deployment", "disks"): DeploymentDisksHandler(),
    ("Deployment", "vmss"): ScaleSetHandler(),
}
_DEPROVISION, _DEALLOCATE, _GENERALIZE, _IMAGE = (
    DeprovisionHandler(),
    DeallocateHandler(),
    GeneralizeHandler(),
    ImageHandler(),
)
_QUIESCE, _SNAPSHOTS, _RESTORE = QuiesceHandler(), SnapshotsHandler(), RestoreSourceHandler()
_CAPTURE_STEPS: dict[str, dict[str, Handler]] = {
    "in-place": {
        "deprovision": _DEPROVISION,
        "deallocate": _DEALLOCATE,
        "generalize": _GENERALIZE,
        "image": _IMAGE,
    },
    "preserve": {
        "quiesce": _QUIESCE,
        "snapshot-source-disks": _SNAPSHOTS,
        "restore-source": _RESTORE,
        "temp-disks": TempDisksHandler(),
        "temp-vm": TempVmHandler(),
        "deprovision": _DEPROVISION,
        "deallocate": _DEALLOCATE,
        "generalize": _GENERALIZE,
        "image": _IMAGE,
        "cleanup": CleanupHandler(),
    },
    "specialized": {"quiesce": _QUIESCE, "snapshots": _SNAPSHOTS, "restore-source": _RESTORE},
    "vhd": {"image": _IMAGE, "snapshots": _SNAPSHOTS},
}
_EXISTING_VM = ExistingVmHandler()


def capture_flow(capture: Any, source: Any) -> str:
    if source.kind == "SourceVHD":
        return "vhd"
    if capture.type == "specialized":
        return "specialized"
    return "preserve" if capture.preserve_source else "in-place"


def handler_for(step: Step, ctx: Context) -> Handler:
    kind = step.document.split("/", 1)[0]
    if kind in _SHARED:
        return _SHARED[kind]
    doc: Any = ctx.document(step.document)
    if kind == "SourceVM" and step.name == "vm" and doc.existing:
        return _EXISTING_VM
    if kind == "Capture":
        flow = capture_flow(doc, ctx.document(doc.source))
        handler = _CAPTURE_STEPS.get(flow, {}).get(step.name) or _GALLERY_STEPS.get(step.name)
        if handler is None:
            raise UnsupportedStep(f"{step.address}: {flow} captures are not supported yet")
        return handler
    handler = _BY_STEP.get((kind, step.name))
    if handler is None:
        raise UnsupportedStep(f"{step.address}: no handler for this step")
    return handler
