"""The resource providers' own budgets, on top of ARM's: Microsoft.Compute's throttling policies
and Microsoft.Network's five-minute windows.

Compute (Learn "Compute throttling limits"): token buckets per region, one per resource and
one per subscription, refilled every minute; the figures below are refill per minute / capacity.
Disks, snapshots, images and galleries have no published figures: they are modelled with the
older `<Policy>3Min` / `<Policy>30Min` windows Azure's own examples show (a bucket refilled over
its window). Network (Learn "Understand how Azure Resource Manager throttles requests"): 1,000
writes and deletes and 10,000 reads per 5 minutes per subscription.

A policy whose name ends in `Resource` counts per resource (the top-level resource the URL
names); every other one per subscription (and region, for Compute). Rates run `speed` times
faster, as every simulated duration does.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPUTE = "microsoft.compute"
NETWORK = "microsoft.network"


@dataclass(frozen=True)
class Policy:
    namespace: str  # as shown in the header: Microsoft.Compute
    name: str
    capacity: float
    per_minute: float  # refill per minute of Azure time
    per_resource: bool = False
    window: str = ""  # Network's observation window, for its 429 message

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}"


def _vm_pair(name: str, resource: tuple[float, float], subscription: tuple[float, float]) -> list[Policy]:
    """A Compute operation class: its per-resource and per-subscription buckets (refill, capacity)."""
    return [
        Policy("Microsoft.Compute", f"{name}Resource", resource[1], resource[0], per_resource=True),
        Policy("Microsoft.Compute", f"{name}Subscription", subscription[1], subscription[0]),
    ]


def _windows(name: str, three_min: float, thirty_min: float) -> list[Policy]:
    """The older style: a bucket per window, each refilled evenly over its window."""
    return [
        Policy("Microsoft.Compute", f"{name}3Min", three_min, three_min / 3.0),
        Policy("Microsoft.Compute", f"{name}30Min", thirty_min, thirty_min / 30.0),
    ]


# Compute, Learn "Compute throttling limits" (refill per minute, capacity).
VM_CREATE = _vm_pair("CreateVM", (4, 12), (500, 1500))
VM_UPDATE = _vm_pair("UpdateVM", (4, 12), (500, 1500))  # start, restart, power off, generalize, run command
VM_DELETE = _vm_pair("DeleteVM", (4, 12), (500, 1500))  # delete and deallocate
VM_GET = _vm_pair("GetVM", (12, 36), (8000, 24000))  # get, instance view, run-command get
VM_LIST = [Policy("Microsoft.Compute", "ListVMSubscription", 900, 300)]  # high-cost GET
POLLING = _vm_pair("GetOperation", (15, 45), (5000, 15000))
VMSS_CREATE = [Policy("Microsoft.Compute", "CreateVMScaleSetSubscription", 375, 125)]
VMSS_DELETE = [Policy("Microsoft.Compute", "DeleteVMScaleSetSubscription", 525, 175)]
# Modelled, not published: the older windowed policies (figures from Azure's own examples).
DISK_WRITE = _windows("CreateUpdateDisks", 500, 4000)
DISK_DELETE = _windows("DeleteDisks", 500, 4000)
DISK_GET = _windows("GetDisks", 3000, 24000)
IMAGE_WRITE = _windows("CreateUpdateImages", 250, 2000)
IMAGE_GET = _windows("GetImages", 3000, 24000)
GALLERY_WRITE = _windows("CreateUpdateGallery", 250, 2000)
GALLERY_GET = _windows("GetGallery", 3000, 24000)
# Network, per subscription, 5-minute windows.
NETWORK_WRITE = [
    Policy("Microsoft.Network", "WritesAndDeletes5Min", 1000, 200, window="Write_ObservationWindow_00:05:00")
]
NETWORK_READ = [
    Policy("Microsoft.Network", "Reads5Min", 10000, 2000, window="Read_ObservationWindow_00:05:00")
]

ALL: list[Policy] = [
    *VM_CREATE,
    *VM_UPDATE,
    *VM_DELETE,
    *VM_GET,
    *VM_LIST,
    *POLLING,
    *VMSS_CREATE,
    *VMSS_DELETE,
    *DISK_WRITE,
    *DISK_DELETE,
    *DISK_GET,
    *IMAGE_WRITE,
    *IMAGE_GET,
    *GALLERY_WRITE,
    *GALLERY_GET,
    *NETWORK_WRITE,
    *NETWORK_READ,
]


@dataclass(frozen=True)
class Request:
    """What classifying a request needs, taken from its URL (lower case) and the store."""

    method: str
    namespace: str  # lower case, "" for Resource Manager's own paths
    types: tuple[str, ...]  # resource type segments, e.g. ("virtualmachines", "runcommands")
    named: bool  # the URL names a resource (not a collection)
    action: str  # a POST action or a GET sub-path (instanceView), else ""
    exists: bool  # the named top-level resource exists (a PUT updates it)


def policies_of(req: Request) -> list[Policy]:
    """The provider policies one request spends a token of (none for Resource Manager's own)."""
    if req.namespace == NETWORK:
        return NETWORK_READ if req.method in ("GET", "HEAD") else NETWORK_WRITE
    if req.namespace != COMPUTE or not req.types:
        return []
    top, method = req.types[0], req.method
    reading = method in ("GET", "HEAD")
    if top == "locations":
        return POLLING if "operations" in req.types else VM_GET[1:]
    if top in ("virtualmachines", "virtualmachinescalesets"):
        if reading:
            if not req.named:
                return VM_LIST
            return VM_GET
        if len(req.types) > 1 or req.action not in ("", "deallocate"):  # run commands, extensions, actions
            return VM_UPDATE
        if req.action == "deallocate" or method == "DELETE":
            return VMSS_DELETE if top == "virtualmachinescalesets" else VM_DELETE
        if method == "PUT" and not req.exists:
            return VMSS_CREATE if top == "virtualmachinescalesets" else VM_CREATE
        return VM_UPDATE
    if top in ("disks", "snapshots"):
        return DISK_GET if reading else DISK_DELETE if method == "DELETE" else DISK_WRITE
    if top == "images":
        return IMAGE_GET if reading else IMAGE_WRITE
    if top == "galleries":
        return GALLERY_GET if reading else GALLERY_WRITE
    return VM_GET[1:] if reading else VM_UPDATE[1:]
