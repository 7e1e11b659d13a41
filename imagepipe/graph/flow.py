"""Which steps a Capture expands into: decided here only (the graph builder stamps the kinds,
the step registry maps each kind to its handler)."""

from __future__ import annotations

import enum

from imagepipe.graph.step import address
from imagepipe.spec.model import AnyDocument, Capture, SourceVHD
from imagepipe.vocabulary import StepKind


class CaptureFlow(enum.Enum):
    IN_PLACE = "in-place"  # generalized, preserveSource: false: the source itself is generalized
    PRESERVE = "preserve"  # generalized from a temporary VM on snapshots (or a restore point) of the source
    SPECIALIZED = "specialized"  # snapshots of every disk of the source (or its restore point)
    VHD_IMAGE = "vhd image"  # generalized VHDs: an image from the blobs
    VHD_SNAPSHOTS = "vhd snapshots"  # specialized VHDs: snapshots imported from the blobs


GENERALIZE = ("deprovision", "deallocate", "generalize", "image")
SNAPSHOT_SOURCE_DISKS = "snapshot-source-disks"  # after quiesce_step(capture)
RESTORE = "restore-source"
TEMPORARIES = ("temp-disks", "temp-vm")
GALLERY_DEFINITION = ("gallery", "gallery-image")
GALLERY_VERSION = "gallery-version"
OLDER_VERSIONS = "older-versions"  # after gallery-version: the older ones step back once it exists
RETAIN = "retain"  # after every step that uses the capture: a version they left may go
CLEANUP = "cleanup"

# Step name inside a Capture -> its kind.
CAPTURE_STEP_KINDS: dict[str, StepKind] = {
    "quiesce": StepKind.CAPTURE_QUIESCE,
    "restore-point": StepKind.CAPTURE_RESTORE_POINT,
    "snapshot-source-disks": StepKind.CAPTURE_SNAPSHOT_SOURCE_DISKS,
    "snapshots": StepKind.CAPTURE_SNAPSHOTS,
    "restore-source": StepKind.CAPTURE_RESTORE_SOURCE,
    "temp-disks": StepKind.CAPTURE_TEMP_DISKS,
    "temp-vm": StepKind.CAPTURE_TEMP_VM,
    "deprovision": StepKind.CAPTURE_DEPROVISION,
    "deallocate": StepKind.CAPTURE_DEALLOCATE,
    "generalize": StepKind.CAPTURE_GENERALIZE,
    "image": StepKind.CAPTURE_IMAGE,
    "cleanup": StepKind.CAPTURE_CLEANUP,
    "gallery": StepKind.CAPTURE_GALLERY,
    "gallery-image": StepKind.CAPTURE_GALLERY_IMAGE,
    "gallery-version": StepKind.CAPTURE_GALLERY_VERSION,
    "retain": StepKind.CAPTURE_GALLERY_RETAIN,
    "older-versions": StepKind.CAPTURE_GALLERY_OLDER_VERSIONS,
}


def capture_flow(capture: Capture, source: AnyDocument | None) -> CaptureFlow:
    """``source`` may be missing while invalid specs are validated: its reference still tells."""
    if isinstance(source, SourceVHD) or (source is None and capture.source.startswith("SourceVHD/")):
        return CaptureFlow.VHD_IMAGE if capture.type == "generalized" else CaptureFlow.VHD_SNAPSHOTS
    if capture.type == "specialized":
        return CaptureFlow.SPECIALIZED
    return CaptureFlow.PRESERVE if capture.preserve_source else CaptureFlow.IN_PLACE


def builds_on_restore_point(capture: Capture, source: AnyDocument | None = None) -> bool:
    """``quiesce: restorePoint`` of a VM's specialized or preserved-source capture: its disks come
    from the restore point's disk restore points (no snapshots); elsewhere quiesce is ignored."""
    if capture.quiesce != "restorePoint" or capture.source.startswith("SourceVHD/"):
        return False
    return capture_flow(capture, source) in (CaptureFlow.SPECIALIZED, CaptureFlow.PRESERVE)


def quiesce_step(capture: Capture) -> str:
    """What comes before the source's disks are copied: power it off (or not), or a restore point."""
    return "restore-point" if capture.quiesce == "restorePoint" else "quiesce"


def generalize_steps(capture: Capture) -> tuple[str, ...]:
    """A capture without a managed image (a Trusted Launch source into a gallery) ends at generalize:
    its gallery version is made from the generalized VM."""
    return GENERALIZE if capture.image is not None else GENERALIZE[:-1]


def output_step_of(capture: Capture) -> str:
    """The step a Deployment from this capture waits for."""
    if capture.gallery is not None:
        return address(capture.ref, GALLERY_VERSION)
    if capture.type == "generalized":
        return address(capture.ref, "image")
    if builds_on_restore_point(capture):  # the restore point and its disk restore points
        return address(capture.ref, "restore-point")
    return address(capture.ref, "snapshots")
