"""The engine's one vocabulary: the kinds of steps and the resource types, as data.

Every layer (graph, steps, plan, apply, azure, render) asks this module what a
step or a resource is; nothing matches address or type strings. It imports
nothing of imagepipe, so any layer may use it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]  # a neutral resource record (see azure/records.py)

RESOURCE_GROUP = "Microsoft.Resources/resourceGroups"
VNET = "Microsoft.Network/virtualNetworks"
NIC = "Microsoft.Network/networkInterfaces"
VM = "Microsoft.Compute/virtualMachines"
RUN_COMMAND = "Microsoft.Compute/virtualMachines/runCommands"
IMAGE = "Microsoft.Compute/images"
DISK = "Microsoft.Compute/disks"
SNAPSHOT = "Microsoft.Compute/snapshots"
GALLERY = "Microsoft.Compute/galleries"
GALLERY_IMAGE = "Microsoft.Compute/galleries/images"
GALLERY_VERSION = "Microsoft.Compute/galleries/images/versions"
VMSS = "Microsoft.Compute/virtualMachineScaleSets"
RESTORE_POINT_COLLECTION = "Microsoft.Compute/restorePointCollections"
RESTORE_POINT = "Microsoft.Compute/restorePointCollections/restorePoints"


class Listing(enum.Enum):
    """How a plan reads a resource type."""

    GROUPS = "groups"  # the subscription's resource groups, one list
    PER_GROUP = "per group"  # one list per resource group (or one for the subscription)
    CHILDREN = "children"  # below its parent (gallery definitions, versions): listed with it
    NOT_LISTED = "not listed"  # read one by one, when a step asks (and by the stack's tag)


class Reading(enum.Enum):
    """How one record of the type is read."""

    PLAIN = "plain"
    INSTANCE_VIEW = "instance view"  # with its power and generalized state
    NESTED = "nested"  # addressed as parent/child names
    NESTED_REPLICATION = "nested with replication"  # a gallery version with its replicas


class Slot(enum.Enum):
    """The concurrency a create of the type uses (apply/limits.py)."""

    NONE = "none"
    IMAGE_SOURCE = "image source"  # 20 creates in flight per managed image, 20 x replicas per region


@dataclass(frozen=True)
class ResourceType:
    arm_type: str
    listing: Listing
    reading: Reading
    delete_rank: int  # what uses a resource is deleted before it: lower ranks first
    slot: Slot = Slot.NONE
    watched: bool = False  # created by the hundred: followed by listing, not a poller each


# In the order a plan lists them.
RESOURCE_TYPES: dict[str, ResourceType] = {
    t.arm_type.lower(): t
    for t in (
        ResourceType(RESOURCE_GROUP, Listing.GROUPS, Reading.PLAIN, 7),
        ResourceType(VNET, Listing.PER_GROUP, Reading.PLAIN, 6),
        ResourceType(NIC, Listing.PER_GROUP, Reading.PLAIN, 1, watched=True),
        ResourceType(VM, Listing.PER_GROUP, Reading.INSTANCE_VIEW, 0, Slot.IMAGE_SOURCE, watched=True),
        ResourceType(IMAGE, Listing.PER_GROUP, Reading.PLAIN, 3),
        ResourceType(SNAPSHOT, Listing.PER_GROUP, Reading.PLAIN, 3),
        ResourceType(DISK, Listing.PER_GROUP, Reading.PLAIN, 1),
        ResourceType(VMSS, Listing.PER_GROUP, Reading.PLAIN, 0),  # one create, whatever its capacity
        ResourceType(GALLERY, Listing.NOT_LISTED, Reading.PLAIN, 5),
        ResourceType(GALLERY_IMAGE, Listing.CHILDREN, Reading.NESTED, 4),
        ResourceType(GALLERY_VERSION, Listing.CHILDREN, Reading.NESTED_REPLICATION, 2),
        ResourceType(RUN_COMMAND, Listing.NOT_LISTED, Reading.INSTANCE_VIEW, 0),
        # quiesce: restorePoint: read by name; the collection goes with its restore points.
        ResourceType(RESTORE_POINT_COLLECTION, Listing.NOT_LISTED, Reading.PLAIN, 3),
        ResourceType(RESTORE_POINT, Listing.NOT_LISTED, Reading.NESTED, 2),
    )
}
UNKNOWN_DELETE_RANK = 2  # a type this table does not know: with the versions

# The types a plan lists in every resource group the specs use.
LISTED_TYPES: tuple[str, ...] = tuple(
    t.arm_type for t in RESOURCE_TYPES.values() if t.listing is Listing.PER_GROUP
)


def resource_type(arm_type: str) -> ResourceType | None:
    return RESOURCE_TYPES.get(arm_type.lower())


def delete_rank(arm_type: str) -> int:
    known = resource_type(arm_type)
    return known.delete_rank if known is not None else UNKNOWN_DELETE_RANK


def short_type(arm_type: str) -> str:
    """The last segment of an ARM type, as messages name it: ``virtualMachines``."""
    return arm_type.rsplit("/", 1)[-1]


def is_type(record_or_type: Record | str, arm_type: str) -> bool:
    """ARM types are case-insensitive."""
    value = record_or_type if isinstance(record_or_type, str) else record_or_type["type"]
    return value.lower() == arm_type.lower()


def resource_group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    if len(parts) > 4 and parts[3].lower() == "resourcegroups":  # /subscriptions/S/resourceGroups/RG/...
        return parts[4]
    lowered = [p.lower() for p in parts]
    if "resourcegroups" in lowered:
        return parts[lowered.index("resourcegroups") + 1]
    return ""


def key(type_: str, resource_group: str, name: str) -> tuple[str, str, str]:
    """Inventory key: ARM names are case-insensitive."""
    return (type_.lower(), resource_group.lower(), name.lower())


class Phase(enum.Enum):
    """The progress bar a step counts towards."""

    NETWORK = "network"
    SOURCE_VM = "SourceVM"
    SOURCE_VHD = "SourceVHD"
    CAPTURE = "Capture"
    DEPLOYMENT = "Deployment"
    DELETE = "delete"


class StepKind(enum.Enum):
    """What a step does: stamped once on each step by the graph builder."""

    RESOURCE_GROUP = "resource-group"
    VIRTUAL_NETWORK = "virtual-network"
    SOURCE_NIC = "source-nic"
    SOURCE_VM = "source-vm"
    EXISTING_VM = "existing-vm"
    CUSTOMIZE = "customize"
    CAPTURE_QUIESCE = "capture-quiesce"
    CAPTURE_RESTORE_POINT = "capture-restore-point"
    CAPTURE_SNAPSHOT_SOURCE_DISKS = "capture-snapshot-source-disks"
    CAPTURE_RESTORE_SOURCE = "capture-restore-source"
    CAPTURE_TEMP_DISKS = "capture-temp-disks"
    CAPTURE_TEMP_VM = "capture-temp-vm"
    CAPTURE_DEPROVISION = "capture-deprovision"
    CAPTURE_DEALLOCATE = "capture-deallocate"
    CAPTURE_GENERALIZE = "capture-generalize"
    CAPTURE_IMAGE = "capture-image"
    CAPTURE_CLEANUP = "capture-cleanup"
    CAPTURE_GALLERY = "capture-gallery"
    CAPTURE_GALLERY_IMAGE = "capture-gallery-image"
    CAPTURE_GALLERY_VERSION = "capture-gallery-version"
    CAPTURE_GALLERY_RETAIN = "capture-gallery-retain"  # gallery.retain: older unused versions deleted
    # gallery.olderVersions: older versions marked excludeFromLatest / given an end-of-life date
    CAPTURE_GALLERY_OLDER_VERSIONS = "capture-gallery-older-versions"
    CAPTURE_SNAPSHOTS = "capture-snapshots"
    DEPLOYMENT_VM = "deployment-vm"
    DEPLOYMENT_DISKS = "deployment-disks"
    DEPLOYMENT_VMSS = "deployment-vmss"
    DELETION = "deletion"  # an owned resource no step describes (destroy, --prune)

    @property
    def phase(self) -> Phase:
        return _PHASES[self]

    @property
    def deployment(self) -> bool:
        """A step of a fan-out: it never changes an image or a gallery version."""
        return self.phase is Phase.DEPLOYMENT

    @property
    def creates(self) -> str | None:
        """The ARM type of the resource the step creates, if it creates one."""
        return _CREATES.get(self)

    @property
    def image_slot(self) -> bool:
        """A fan-out step whose create takes a slot of its image source (apply/limits.py)."""
        made = resource_type(self.creates) if self.deployment and self.creates else None
        return made is not None and made.slot is Slot.IMAGE_SOURCE

    @property
    def duration_hint(self) -> float:
        """Rough seconds Azure takes for the step, for the critical path (others count 1)."""
        return _DURATIONS.get(self, 1.0)


_PHASES: dict[StepKind, Phase] = {
    StepKind.RESOURCE_GROUP: Phase.NETWORK,
    StepKind.VIRTUAL_NETWORK: Phase.NETWORK,
    StepKind.SOURCE_NIC: Phase.SOURCE_VM,
    StepKind.SOURCE_VM: Phase.SOURCE_VM,
    StepKind.EXISTING_VM: Phase.SOURCE_VM,
    StepKind.CUSTOMIZE: Phase.SOURCE_VM,
    StepKind.DEPLOYMENT_VM: Phase.DEPLOYMENT,
    StepKind.DEPLOYMENT_DISKS: Phase.DEPLOYMENT,
    StepKind.DEPLOYMENT_VMSS: Phase.DEPLOYMENT,
    StepKind.DELETION: Phase.DELETE,
    **{kind: Phase.CAPTURE for kind in StepKind if kind.value.startswith("capture-")},
}
_CREATES: dict[StepKind, str] = {
    StepKind.RESOURCE_GROUP: RESOURCE_GROUP,
    StepKind.VIRTUAL_NETWORK: VNET,
    StepKind.SOURCE_NIC: NIC,
    StepKind.SOURCE_VM: VM,
    StepKind.CAPTURE_RESTORE_POINT: RESTORE_POINT_COLLECTION,  # and its restore point
    StepKind.CAPTURE_SNAPSHOT_SOURCE_DISKS: SNAPSHOT,
    StepKind.CAPTURE_SNAPSHOTS: SNAPSHOT,
    StepKind.CAPTURE_TEMP_DISKS: DISK,
    StepKind.CAPTURE_TEMP_VM: VM,
    StepKind.CAPTURE_IMAGE: IMAGE,
    StepKind.CAPTURE_GALLERY: GALLERY,
    StepKind.CAPTURE_GALLERY_IMAGE: GALLERY_IMAGE,
    StepKind.CAPTURE_GALLERY_VERSION: GALLERY_VERSION,
    StepKind.DEPLOYMENT_VM: VM,
    StepKind.DEPLOYMENT_DISKS: DISK,
    StepKind.DEPLOYMENT_VMSS: VMSS,
}
_DURATIONS: dict[StepKind, float] = {
    StepKind.SOURCE_VM: 60.0,
    StepKind.EXISTING_VM: 60.0,
    StepKind.DEPLOYMENT_VM: 60.0,
    StepKind.SOURCE_NIC: 2.0,
    StepKind.VIRTUAL_NETWORK: 3.0,
}
