"""Schema-valid documents -> the typed model, with every default applied.

The schema already guarantees the shape, so this module only reads fields and
fills in defaults (docs/internals.md, "The model"). References stay
``Kind/name`` strings; a reference to a missing document leaves its defaults
empty (the rules report it).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from imagepipe.errors import Diagnostic, Location, error
from imagepipe.spec import security
from imagepipe.spec.identity import stack_identity
from imagepipe.spec.images import is_capture_ref, marketplace_os
from imagepipe.spec.model import (
    DEFAULT_VMS_PER_REPLICA,
    AnyDocument,
    Capture,
    DataDisk,
    Deployment,
    GalleryDefinition,
    GalleryTarget,
    HealthCheck,
    HealthProbe,
    ImageTarget,
    OlderVersions,
    OsType,
    Rollout,
    Script,
    SnapshotTarget,
    SourceVHD,
    SourceVM,
    Stack,
    Subnet,
    TargetRegion,
    VMCreate,
    seconds,
)
from imagepipe.spec.secrets import SecretRef
from imagepipe.spec.yamlload import PathKey, RawDocument

DEFAULT_SIZE = "Standard_B2s"
DEFAULT_ADMIN = "azureuser"
# VMs (and scale set instances) one spec set may make in all: bounds validate's work and memory.
MAX_SET_VMS = 20_000
KIND_ORDER = ("Stack", "SourceVM", "SourceVHD", "Capture", "Deployment")


def older_versions(raw: dict[str, Any] | None) -> OlderVersions | None:
    """``gallery.olderVersions`` (schema-valid: at least one of its settings)."""
    if not raw:
        return None
    days = raw.get("endOfLifeAfter")
    return OlderVersions(bool(raw.get("excludeFromLatest", False)), int(days[:-1]) if days else None)


def document_ref(doc: RawDocument) -> str:
    return f"{doc.data['kind']}/{doc.get(('metadata', 'name'), '')}"


def build_stack(raw: RawDocument | None, root: Path, default_name: str, root_location: Location) -> Stack:
    """The Stack document's settings, or the defaults; its identity from its name or its folder."""
    explicit = raw.get(("metadata", "name")) if raw is not None else None
    identity = stack_identity(root, explicit)
    if raw is None:
        return Stack(name=default_name, location=root_location, identity=identity)
    spec = raw.data.get("spec") or {}
    return Stack(
        name=explicit or default_name,
        identity=identity,
        location=raw.where(()),
        location_name=spec.get("location"),
        tags=dict(spec.get("tags") or {}),
        secret_env=tuple(spec["secretEnv"]) if "secretEnv" in spec else None,
        secret_env_locations=tuple(
            raw.where(("spec", "secretEnv", i)) for i in range(len(spec.get("secretEnv") or ()))
        ),
    )


class ModelBuilder:
    """Builds every document of one spec set; reports duplicate names."""

    def __init__(self, stack: Stack, raws: Iterable[RawDocument]):
        self.stack = stack
        self.raws: dict[str, RawDocument] = {}
        self.diagnostics: list[Diagnostic] = []
        for raw in raws:
            ref = document_ref(raw)
            first = self.raws.get(ref)
            if first is not None:
                kind, name = ref.split("/", 1)
                self.diagnostics.append(
                    error(
                        f"metadata.name: duplicate {kind} name '{name}' (first defined at {first.where(('metadata', 'name'))})",
                        raw.where(("metadata", "name")),
                        ref,
                    )
                )
                continue
            self.raws[ref] = raw
        self.documents: dict[str, AnyDocument] = {}
        self.vm_counts = self._bound_vm_counts()

    def build(self) -> dict[str, AnyDocument]:
        ordered = sorted(self.raws.items(), key=lambda item: KIND_ORDER.index(item[1].data["kind"]))
        for ref, raw in ordered:
            kind = raw.data["kind"]
            self.documents[ref] = getattr(self, f"_{kind.lower()}")(raw)
        return self.documents

    def _bound_vm_counts(self) -> dict[str, int]:
        """Each Deployment's count, within what the spec set may make in all (MAX_SET_VMS).

        Past the bound the count is reported and read as 1, so that no later
        check (names, the step graph) does work in proportion to it.
        """
        counts: dict[str, int] = {}
        left = MAX_SET_VMS
        for ref, raw in self.raws.items():
            if raw.data["kind"] != "Deployment":
                continue
            count = int(raw.data["spec"].get("count", 1))
            left -= count
            counts[ref] = count if left >= 0 else 1
            if left < 0 and left + count >= 0:  # the first one past the bound
                self.diagnostics.append(
                    error(
                        f"spec.count: with these {count} VMs the spec set's Deployments make more than "
                        f"{MAX_SET_VMS} VMs in all; split it into several stacks",
                        raw.where(("spec", "count")),
                        ref,
                    )
                )
        return counts

    # -- helpers ---------------------------------------------------------------------------

    def region(self, raw: RawDocument) -> str:
        return raw.data["spec"].get("location") or self.stack.location_name or ""

    def secret(self, raw: RawDocument, path: PathKey) -> SecretRef | None:
        value = raw.get(path)
        if not isinstance(value, dict) or not value:
            return None
        kind, name = next(iter(value.items()))
        return SecretRef(kind=kind, name=str(name), origin=raw.where(path), base_dir=raw.path.parent)

    def os_of_image(self, image: str, seen: frozenset[str] = frozenset()) -> OsType | None:
        """The OS a VM created from ``image`` runs, following Capture/x to its source."""
        if not is_capture_ref(image):
            return marketplace_os(image)
        capture = self.raws.get(image)
        if capture is None or image in seen:
            return None
        source = self.raws.get(str(capture.data["spec"].get("source", "")))
        if source is None:
            return None
        return self.os_of_source(source, seen | {image})

    def os_of_source(self, raw: RawDocument, seen: frozenset[str] = frozenset()) -> OsType:
        spec = raw.data["spec"]
        if spec.get("osType"):
            return spec["osType"]
        image = (spec.get("create") or {}).get("image")
        return (self.os_of_image(image, seen) if image else None) or "Linux"

    @staticmethod
    def subnet(value: dict[str, Any]) -> Subnet:
        return Subnet(vnet=value["vnet"], name=value["name"], address_prefix=value["addressPrefix"])

    # -- kinds -----------------------------------------------------------------------------

    def _stack(self, raw: RawDocument) -> Stack:
        return self.stack

    def _sourcevm(self, raw: RawDocument) -> SourceVM:
        spec = raw.data["spec"]
        create = spec.get("create")
        vm_create = None
        if create is not None and not spec.get("existing", False):
            base = ("spec", "create")
            vm_create = VMCreate(
                image=create["image"],
                size=create.get("size", DEFAULT_SIZE),
                admin_username=create.get("adminUsername", DEFAULT_ADMIN),
                subnet=self.subnet(create["subnet"]),
                ssh_public_key=self.secret(raw, (*base, "sshPublicKey")),
                admin_password=self.secret(raw, (*base, "adminPassword")),
                data_disks=tuple(DataDisk(size_gb=d["sizeGB"]) for d in create.get("dataDisks", [])),
                customize=tuple(
                    Script(script=s["script"], location=raw.where((*base, "customize", i)))
                    for i, s in enumerate(create.get("customize", []))
                ),
                security_type=create.get("securityType"),
            )
        return SourceVM(
            name=raw.data["metadata"]["name"],
            location=raw.where(()),
            resource_group=spec["resourceGroup"],
            location_name=self.region(raw),
            vm_name=spec["vmName"],
            os_type=self.os_of_source(raw),
            existing=bool(spec.get("existing", False)),
            create=vm_create,
            security_type=spec.get("securityType"),
        )

    @staticmethod
    def rollout(spec: dict[str, Any]) -> Rollout:
        check = spec.get("healthCheck")
        health = (
            HealthCheck(check["script"], seconds(check.get("timeout", "10m"))) if check is not None else None
        )
        probe = spec.get("healthProbe") or {}
        return Rollout(
            max_unavailable=spec.get("maxUnavailable", "25%"),
            pause_seconds=seconds(spec.get("pauseBetweenWaves", "0s")),
            health_check=health,
            health_probe=HealthProbe(
                protocol=probe.get("protocol", "tcp"),
                port=probe.get("port"),
                request_path=probe.get("requestPath"),
            ),
        )

    def _sourcevhd(self, raw: RawDocument) -> SourceVHD:
        spec = raw.data["spec"]
        return SourceVHD(
            name=raw.data["metadata"]["name"],
            location=raw.where(()),
            resource_group=spec["resourceGroup"],
            location_name=self.region(raw),
            os_type=spec["osType"],
            os_state=spec.get("osState", "Generalized"),
            os_disk_uri=spec["osDiskUri"],
            data_disk_uris=tuple(spec.get("dataDiskUris", [])),
        )

    def _capture(self, raw: RawDocument) -> Capture:
        spec = raw.data["spec"]
        name = raw.data["metadata"]["name"]
        source = self.documents.get(spec["source"])
        source_rg = getattr(source, "resource_group", "")
        source_region = getattr(source, "location_name", "")
        capture_type = spec.get("type", "generalized")
        image = gallery = None
        if capture_type == "generalized":
            given = spec.get("image") or {}
            image = ImageTarget(
                resource_group=given.get("resourceGroup", source_rg), name=given.get("name", f"{name}-image")
            )
            if (
                "gallery" in spec
                and "image" not in spec
                and not security.holds_in_managed_image(self.documents, source)
            ):
                image = None  # a Trusted Launch source is captured straight into the gallery
            if "gallery" in spec:
                g = spec["gallery"]
                regions = g.get("targetRegions") or [{"name": source_region}]
                gallery = GalleryTarget(
                    resource_group=g["resourceGroup"],
                    name=g["name"],
                    definition=GalleryDefinition(**g["definition"]),
                    version=g["version"],
                    target_regions=tuple(TargetRegion(r["name"], r.get("replicas", 1)) for r in regions),
                    vms_per_replica=g.get("vmsPerReplica", DEFAULT_VMS_PER_REPLICA),
                    retain=g.get("retain"),
                    older=older_versions(g.get("olderVersions")),
                )
        snapshots = spec.get("snapshots") or {}
        return Capture(
            name=name,
            location=raw.where(()),
            source=spec["source"],
            type=capture_type,
            preserve_source=bool(spec.get("preserveSource", True)),
            quiesce=spec.get("quiesce", "stop"),
            image=image,
            gallery=gallery,
            snapshots=SnapshotTarget(
                resource_group=snapshots.get("resourceGroup", source_rg),
                incremental=bool(snapshots.get("incremental", False)),
            ),
        )

    def _deployment(self, raw: RawDocument) -> Deployment:
        spec = raw.data["spec"]
        name = raw.data["metadata"]["name"]
        return Deployment(
            name=name,
            location=raw.where(()),
            image=spec["image"],
            resource_group=spec["resourceGroup"],
            location_name=self.region(raw),
            count=self.vm_counts[document_ref(raw)],
            name_pattern=spec.get("namePattern", f"{name}-{{index:02d}}"),
            size=spec.get("size", DEFAULT_SIZE),
            zones=tuple(str(z) for z in spec.get("zones", [])),
            subnet=self.subnet(spec["subnet"]) if "subnet" in spec else None,
            subnet_id=spec.get("subnetId"),
            admin_username=spec.get("adminUsername", DEFAULT_ADMIN),
            ssh_public_key=self.secret(raw, ("spec", "sshPublicKey")),
            admin_password=self.secret(raw, ("spec", "adminPassword")),
            mode=spec.get("mode", "vms"),
            max_parallel=spec.get("maxParallel", "auto"),
            allow_duplicate_identity=bool(spec.get("allowDuplicateIdentity", False)),
            tags=dict(spec.get("tags") or {}),
            security_type=spec.get("securityType"),
            rollout=self.rollout(spec.get("rollout") or {}),
        )
