"""The typed model of a spec set, built from schema-valid documents.

Every field mirrors the spec language (DESIGN.md section 2) in snake_case, with
defaults already applied, so later layers never look at raw YAML. References
between documents stay as ``Kind/name`` strings; ``SpecSet.get`` resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from imagepipe.errors import Diagnostic, Location
from imagepipe.spec.names import format_name
from imagepipe.spec.secrets import SecretRef

OsType = Literal["Linux", "Windows"]
OsState = Literal["Generalized", "Specialized"]
SecurityType = Literal["Standard", "TrustedLaunch"]


@dataclass(frozen=True)
class Subnet:
    vnet: str
    name: str
    address_prefix: str  # e.g. "10.0.1.0/24"


@dataclass(frozen=True)
class DataDisk:
    size_gb: int


@dataclass(frozen=True)
class Script:
    script: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Document:
    """Fields common to every kind. ``location`` points at the document's start."""

    name: str
    location: Location = field(compare=False)

    kind = "Document"

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Stack(Document):
    kind = "Stack"
    # Stamped on every resource (spec/identity.py): metadata.name, else the folder's place.
    identity: str = ""
    location_name: str | None = None  # spec.location (the default Azure region)
    tags: dict[str, str] = field(default_factory=dict)
    # spec.secretEnv: the variables {env:} may read besides IMAGEPIPE_*; None: any not refused.
    secret_env: tuple[str, ...] | None = None
    secret_env_locations: tuple[Location, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class VMCreate:
    image: str  # marketplace URN, an alias (Ubuntu2204, ...), or "Capture/x"
    size: str
    admin_username: str
    subnet: Subnet
    ssh_public_key: SecretRef | None = None
    admin_password: SecretRef | None = None
    data_disks: tuple[DataDisk, ...] = ()
    customize: tuple[Script, ...] = ()
    security_type: SecurityType | None = None  # None: Azure's default for the image (spec/security.py)


@dataclass(frozen=True)
class SourceVM(Document):
    kind = "SourceVM"
    resource_group: str = ""
    location_name: str = ""  # Azure region (spec.location, else the Stack's)
    vm_name: str = ""
    os_type: OsType = "Linux"
    existing: bool = False
    create: VMCreate | None = None  # set exactly when existing is False
    security_type: SecurityType | None = None  # existing only: what it is, checked at plan time


@dataclass(frozen=True)
class SourceVHD(Document):
    kind = "SourceVHD"
    resource_group: str = ""
    location_name: str = ""
    os_type: OsType = "Linux"
    os_state: OsState = "Generalized"
    os_disk_uri: str = ""
    data_disk_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageTarget:
    resource_group: str
    name: str


@dataclass(frozen=True)
class GalleryDefinition:
    name: str
    publisher: str
    offer: str
    sku: str


@dataclass(frozen=True)
class TargetRegion:
    name: str
    replicas: int = 1


# Learn "Store and share images in an Azure Compute Gallery": one replica per 20 concurrent VM
# creates in its best practices, one per 50 in its scaling section; 20 unless the spec says.
DEFAULT_VMS_PER_REPLICA = 20
MAX_VMS_PER_REPLICA = 50


@dataclass(frozen=True)
class OlderVersions:
    """``gallery.olderVersions``: the marks the versions older than the spec's get."""

    exclude_from_latest: bool = False
    end_of_life_days: int | None = None  # end of life: each version's published date + this


@dataclass(frozen=True)
class GalleryTarget:
    resource_group: str
    name: str
    definition: GalleryDefinition
    version: str  # "1.0.0"
    target_regions: tuple[TargetRegion, ...]  # defaults to the source's region with 1 replica
    vms_per_replica: int = 20  # VM creates one replica serves at once (DEFAULT_VMS_PER_REPLICA)
    retain: int | None = None  # keep the newest N versions of the definition (None: keep all)
    older: OlderVersions | None = None  # what older versions of this stack get once this one exists


@dataclass(frozen=True)
class SnapshotTarget:
    resource_group: str
    incremental: bool = False


@dataclass(frozen=True)
class Capture(Document):
    kind = "Capture"
    source: str = ""  # "SourceVM/x" or "SourceVHD/x"
    type: Literal["generalized", "specialized"] = "generalized"
    preserve_source: bool = True  # generalized only
    # Specialized and preserveSource: true: power off, snapshot running, or a VM restore point.
    quiesce: Literal["stop", "none", "restorePoint"] = "stop"
    # Generalized captures always make a managed image (a gallery version is built
    # from it); defaults: the source's resource group, name "<capture>-image".
    image: ImageTarget | None = None
    gallery: GalleryTarget | None = None
    # Specialized captures, and the temporaries of preserveSource, keep snapshots
    # here; default: the source's resource group, full snapshots.
    snapshots: SnapshotTarget | None = None


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def seconds(duration: str) -> float:
    """A schema-valid duration ("30s", "5m", "1h") in seconds."""
    return float(int(duration[:-1]) * _UNIT_SECONDS[duration[-1]])


@dataclass(frozen=True)
class HealthCheck:
    """A script run through Run Command on each new VM of a rollout: exit code 0 within the timeout."""

    script: str
    timeout_seconds: float = 600.0


# The port a scale set's Application Health extension probes when the spec names none.
DEFAULT_PROBE_PORTS = {"tcp": {"Linux": 22, "Windows": 3389}, "http": 80, "https": 443}


@dataclass(frozen=True)
class HealthProbe:
    """What a scale set's Application Health extension probes inside each instance (mode scaleSet):
    the health signal Azure's rolling upgrade judges upgraded instances by."""

    protocol: Literal["tcp", "http", "https"] = "tcp"
    port: int | None = None  # None: DEFAULT_PROBE_PORTS (tcp: SSH on Linux, RDP on Windows)
    request_path: str | None = None  # http and https only

    def port_for(self, os_type: str) -> int:
        if self.port is not None:
            return self.port
        default = DEFAULT_PROBE_PORTS[self.protocol]
        return default[os_type] if isinstance(default, dict) else default


@dataclass(frozen=True)
class Rollout:
    """How replacements roll through a fleet: waves of at most ``max_unavailable`` VMs."""

    max_unavailable: int | str = "25%"  # a number of VMs or "N%" of the count (at least 1)
    pause_seconds: float = 0.0  # between two waves
    health_check: HealthCheck | None = None
    health_probe: HealthProbe = field(default_factory=HealthProbe)  # mode scaleSet only

    def wave_size(self, count: int) -> int:
        """VMs that may be down at once: the percentage rounds down, never below 1 VM."""
        if isinstance(self.max_unavailable, str):
            return max(1, count * int(self.max_unavailable.rstrip("%")) // 100)
        return max(1, self.max_unavailable)


@dataclass(frozen=True)
class Deployment(Document):
    kind = "Deployment"
    image: str = ""  # "Capture/x"
    resource_group: str = ""
    location_name: str = ""
    count: int = 1
    name_pattern: str = (
        ""  # literal text and {index} or {index:0Nd} (spec/names.py); default "<name>-{index:02d}"
    )
    size: str = "Standard_B2s"
    zones: tuple[str, ...] = ()
    subnet: Subnet | None = None
    subnet_id: str | None = None  # exactly one of subnet / subnet_id
    admin_username: str = "azureuser"
    ssh_public_key: SecretRef | None = None
    admin_password: SecretRef | None = None
    mode: Literal["vms", "scaleSet"] = "vms"
    max_parallel: int | Literal["auto"] = "auto"
    allow_duplicate_identity: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    security_type: SecurityType | None = None  # None: Azure's default for the capture's image
    rollout: Rollout = field(default_factory=Rollout)

    def vm_name(self, index: int) -> str:
        return format_name(self.name_pattern, index)


AnyDocument = Stack | SourceVM | SourceVHD | Capture | Deployment


@dataclass
class SpecSet:
    """All documents of one stack, keyed by ``Kind/name``."""

    root: Path  # the folder (or the first path) the specs were loaded from
    stack: Stack
    documents: dict[str, AnyDocument] = field(default_factory=dict)
    files: tuple[Path, ...] = ()  # every spec file read, for the stale-plan fingerprint
    warnings: list[Diagnostic] = field(default_factory=list)  # validation warnings (never errors)

    def get(self, ref: str) -> AnyDocument:
        return self.documents[ref]

    def of_kind(self, kind: str) -> list[AnyDocument]:
        return [d for d in self.documents.values() if d.kind == kind]

    @property
    def name(self) -> str:
        return self.stack.name

    @property
    def identity(self) -> str:
        return self.stack.identity or self.stack.name
