"""Which handler reconciles which step: one table, keyed by the step's kind.

The graph builder stamps each step's kind (the capture flow is decided there,
in graph/flow.py); a new kind of step is a new StepKind, a handler class and an
entry here.
"""

from __future__ import annotations

from imagepipe.errors import ImagepipeError
from imagepipe.graph.step import Step
from imagepipe.steps.base import Handler
from imagepipe.steps.handlers.capture import (
    DeallocateHandler,
    DeprovisionHandler,
    GeneralizeHandler,
    ImageHandler,
)
from imagepipe.steps.handlers.disks import DeploymentDisksHandler, TempDisksHandler
from imagepipe.steps.handlers.gallery import GalleryHandler, GalleryImageHandler, GalleryVersionHandler
from imagepipe.steps.handlers.older_versions import OlderVersionsHandler
from imagepipe.steps.handlers.preserve import CleanupHandler, TempVmHandler
from imagepipe.steps.handlers.resources import (
    ExistingVmHandler,
    NicHandler,
    ResourceGroupHandler,
    VirtualNetworkHandler,
    VmHandler,
)
from imagepipe.steps.handlers.retain import GalleryRetainHandler
from imagepipe.steps.handlers.scaleset import ScaleSetHandler
from imagepipe.steps.handlers.snapshots import (
    QuiesceHandler,
    RestorePointHandler,
    RestoreSourceHandler,
    SnapshotsHandler,
)
from imagepipe.steps.handlers.source import CustomizeHandler
from imagepipe.vocabulary import StepKind


class UnsupportedStep(ImagepipeError):
    """The specs ask for a workflow this version cannot reconcile yet."""


_VM = VmHandler()
_SNAPSHOTS = SnapshotsHandler()
HANDLERS: dict[StepKind, Handler] = {
    StepKind.RESOURCE_GROUP: ResourceGroupHandler(),
    StepKind.VIRTUAL_NETWORK: VirtualNetworkHandler(),
    StepKind.SOURCE_NIC: NicHandler(),
    StepKind.SOURCE_VM: _VM,
    StepKind.EXISTING_VM: ExistingVmHandler(),
    StepKind.CUSTOMIZE: CustomizeHandler(),
    StepKind.CAPTURE_QUIESCE: QuiesceHandler(),
    StepKind.CAPTURE_RESTORE_POINT: RestorePointHandler(),
    StepKind.CAPTURE_SNAPSHOT_SOURCE_DISKS: _SNAPSHOTS,
    StepKind.CAPTURE_SNAPSHOTS: _SNAPSHOTS,
    StepKind.CAPTURE_RESTORE_SOURCE: RestoreSourceHandler(),
    StepKind.CAPTURE_TEMP_DISKS: TempDisksHandler(),
    StepKind.CAPTURE_TEMP_VM: TempVmHandler(),
    StepKind.CAPTURE_DEPROVISION: DeprovisionHandler(),
    StepKind.CAPTURE_DEALLOCATE: DeallocateHandler(),
    StepKind.CAPTURE_GENERALIZE: GeneralizeHandler(),
    StepKind.CAPTURE_IMAGE: ImageHandler(),
    StepKind.CAPTURE_CLEANUP: CleanupHandler(),
    StepKind.CAPTURE_GALLERY: GalleryHandler(),
    StepKind.CAPTURE_GALLERY_IMAGE: GalleryImageHandler(),
    StepKind.CAPTURE_GALLERY_VERSION: GalleryVersionHandler(),
    StepKind.CAPTURE_GALLERY_RETAIN: GalleryRetainHandler(),
    StepKind.CAPTURE_GALLERY_OLDER_VERSIONS: OlderVersionsHandler(),
    StepKind.DEPLOYMENT_VM: _VM,
    StepKind.DEPLOYMENT_DISKS: DeploymentDisksHandler(),
    StepKind.DEPLOYMENT_VMSS: ScaleSetHandler(),
}


def handler_for(step: Step) -> Handler:
    handler = HANDLERS.get(step.kind)
    if handler is None:
        raise UnsupportedStep(f"{step.address}: no handler for this step")
    return handler
