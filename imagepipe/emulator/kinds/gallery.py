"""Azure Compute Gallery: galleries, image definitions and image versions replicated to regions."""

from __future__ import annotations

import copy

from imagepipe.emulator import ids, timing
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.errors import ArmError, invalid, property_change
from imagepipe.emulator.imagesource import GALLERY_IMAGE, GALLERY_VERSION, IMAGE
from imagepipe.emulator.kinds.base import Kind, normalize_location, register
from imagepipe.emulator.kinds.vm import VM
from imagepipe.emulator.operations import iso
from imagepipe.emulator.replies import Answer

GALLERY = "Microsoft.Compute/galleries"


def _parent_or_404(ctx: Ctx, resource_id: str) -> dict:
    parent_id = ids.parent_of(resource_id)
    parent = ctx.store.get(parent_id)
    if parent is None:
        raise ArmError(
            404,
            "ParentResourceNotFound",
            f"Can not perform requested operation on nested resource. Parent resource '{ids.name_of(parent_id)}' not found.",
        )
    return parent


def _refuse_if_nested(ctx: Ctx, doc: dict, child_type: str) -> None:
    if ctx.store.children(doc["id"], child_type):
        raise ArmError(
            409, "CannotDeleteResource", "Can not delete resource before nested resources are deleted."
        )


class Galleries(Kind):
    type_name = GALLERY
    group = "Galleries"
    create_duration = timing.GALLERY_CREATE
    update_duration = timing.GALLERY_CREATE

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props = copy.deepcopy(body.get("properties") or {})
        props["identifier"] = {"uniqueName": f"{ctx.subscription}-{doc['name'].upper()}"}
        doc["properties"] = props
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        _refuse_if_nested(ctx, doc, GALLERY_IMAGE)


class GalleryImages(Kind):
    type_name = GALLERY_IMAGE
    group = "GalleryImages"
    create_duration = timing.GALLERY_CREATE
    update_duration = timing.GALLERY_CREATE
    _fixed = ("osType", "osState", "hyperVGeneration")

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        _parent_or_404(ctx, resource_id)
        return super().put(ctx, resource_id, body)

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props = copy.deepcopy(body.get("properties") or {})
        if props.get("osType") not in ("Linux", "Windows"):
            raise invalid("Required parameter 'osType' is missing or invalid.", "osType")
        if props.get("osState") not in ("Generalized", "Specialized"):
            raise invalid("Required parameter 'osState' is missing or invalid.", "osState")
        identifier = props.get("identifier") or {}
        if not all(identifier.get(k) for k in ("publisher", "offer", "sku")):
            raise invalid("Required parameter 'identifier' (publisher, offer, sku) is missing.", "identifier")
        props.setdefault("hyperVGeneration", "V1")
        props.setdefault("architecture", "x64")
        doc["properties"] = props
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    def check_immutable(self, doc: dict, body: dict) -> None:
        super().check_immutable(doc, body)
        props = body.get("properties") or {}
        for field in self._fixed:
            if props.get(field) and props[field] != doc["properties"].get(field):
                raise property_change(f"galleryImage.properties.{field}")
        identifier = props.get("identifier")
        if identifier and any(
            identifier.get(k) != doc["properties"]["identifier"].get(k) for k in ("publisher", "offer", "sku")
        ):
            raise property_change("galleryImage.properties.identifier")

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        _refuse_if_nested(ctx, doc, GALLERY_VERSION)


def replica_state(ctx: Ctx, version: dict, region: str) -> str:
    """Replicating until the region's simulated replication time is over, then Completed.

    A version whose operation was decided Failed never completes a replica: its regions
    report Failed from the moment the operation fails, as Azure's do.
    """
    entry = version["_emu"].get("replication", {}).get(normalize_location(region))
    if entry is None:
        return "Unknown"
    if ctx.clock.now() < entry["done"]:
        return "Replicating"
    return "Failed" if entry.get("failed") else "Completed"


def _fail_replication(replication: dict, error: dict, failed_at: float) -> dict:
    """Every region of a version whose operation fails ends Failed (never Completed) when it fails."""
    return {
        region: {**entry, "done": min(entry["done"], failed_at), "failed": True, "error": error}
        for region, entry in replication.items()
    }


class GalleryImageVersions(Kind):
    type_name = GALLERY_VERSION
    group = "GalleryImageVersions"

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        _parent_or_404(ctx, resource_id)
        return super().put(ctx, resource_id, body)

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        if "replicationstatus" in ctx.query.get("$expand", "").lower():
            summary = []
            for region in doc["properties"]["publishingProfile"]["targetRegions"]:
                entry = doc["_emu"]["replication"].get(normalize_location(region["name"]))
                state = replica_state(ctx, doc, region["name"])
                progress = 100 if state == "Completed" else _progress(entry, ctx.clock.now())
                details = _failure_details(entry) if state == "Failed" else ""
                summary.append(
                    {"region": region["name"], "state": state, "details": details, "progress": progress}
                )
            aggregated = _aggregated([s["state"] for s in summary])
            out = {
                **out,
                "properties": {
                    **out["properties"],
                    "replicationStatus": {"aggregatedState": aggregated, "summary": summary},
                },
            }
        return out

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        definition = ctx.store.get(ids.parent_of(doc["id"]))
        assert definition is not None
        props_in = copy.deepcopy(body.get("properties") or {})
        storage_in = props_in.get("storageProfile") or {}
        source_in = storage_in.get("source") or {}
        source_id = source_in.get("virtualMachineId") or source_in.get("id")
        if not source_id:
            raise invalid(
                "Required parameter 'storageProfile.source.id' is missing (null).", "storageProfile.source"
            )
        source = ctx.store.get(source_id)
        if source is None or source["type"] not in (IMAGE, VM):
            raise ArmError(
                404,
                "NotFound",
                f"The source resource '{source_id}' of the gallery image version was not found.",
            )
        if source["location"] != doc["location"]:
            raise invalid(
                f"The source '{source['id']}' is in location '{source['location']}'; it must be in the gallery image "
                f"version's location '{doc['location']}'.",
                "storageProfile.source.id",
            )
        storage, os_type, deprovisioned = self._capture(source, definition)
        if os_type != definition["properties"]["osType"]:
            raise invalid(
                f"The OS type '{os_type}' of the source does not match the OS type '{definition['properties']['osType']}' of the gallery image.",
                "storageProfile.source.id",
            )
        publishing = props_in.get("publishingProfile") or {}
        regions = self._target_regions(doc, publishing)
        now = ctx.clock.now()
        publishing = {**publishing, "targetRegions": regions, "publishedDate": iso(now)}
        publishing.setdefault("replicaCount", 1)
        publishing.setdefault("excludeFromLatest", False)
        publishing.setdefault("storageAccountType", "Standard_LRS")
        replication = self._schedule(ctx, regions, {}, now)
        error = ctx.injected_error
        if error:
            # The version itself fails before any replica is usable (e.g. QuotaExceeded).
            replication = _fail_replication(
                replication, error, now + ctx.clock.span(timing.GALLERY_VERSION_BASE)
            )
        doc["properties"] = {
            "publishingProfile": publishing,
            "storageProfile": {
                "source": {"id": source["id"]}
                if source["type"] == IMAGE
                else {"virtualMachineId": source["id"]},
                "osDiskImage": {"sizeInGB": storage["os_disk_gb"], "hostCaching": "ReadWrite"},
                "dataDiskImages": [
                    {"lun": d["lun"], "sizeInGB": d["diskSizeGB"], "hostCaching": "None"}
                    for d in storage["data_disks"]
                ],
            },
            "safetyProfile": props_in.get("safetyProfile") or {"allowDeletionOfReplicatedLocations": True},
        }
        doc["_emu"].update(storage=storage, deprovisioned=deprovisioned, replication=replication)
        return self.start_provisioning(
            ctx, doc, self._duration(ctx, replication, now), created=True, error=error
        )

    def _capture(self, source: dict, definition: dict) -> tuple[dict, str, bool]:
        generalized_definition = definition["properties"]["osState"] == "Generalized"
        if source["type"] == IMAGE:
            profile = source["properties"]["storageProfile"]
            os_disk = profile["osDisk"]
            if generalized_definition and os_disk.get("osState") != "Generalized":
                raise invalid(
                    "A specialized image cannot be the source of a version of a generalized gallery image.",
                    "storageProfile.source.id",
                )
            storage = {
                "os_disk_gb": int(os_disk.get("diskSizeGB") or 30),
                "data_disks": [
                    {"lun": d["lun"], "diskSizeGB": int(d.get("diskSizeGB") or 32)}
                    for d in profile.get("dataDisks") or []
                ],
            }
            return storage, os_disk["osType"], bool(source["_emu"].get("deprovisioned"))
        if generalized_definition and not source["_emu"].get("generalized"):
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"The operation 'Create Gallery Image Version' requires the Virtual Machine '{source['name']}' to be Generalized.",
            )
        vm_storage = source["properties"]["storageProfile"]
        storage = {
            "os_disk_gb": int(vm_storage["osDisk"].get("diskSizeGB") or 30),
            "data_disks": [
                {"lun": d["lun"], "diskSizeGB": int(d.get("diskSizeGB") or 32)}
                for d in vm_storage.get("dataDisks") or []
            ],
        }
        return storage, source["_emu"].get("os_type", "Linux"), bool(source["_emu"].get("deprovisioned"))

    def _target_regions(self, doc: dict, publishing: dict) -> list[dict]:
        regions = []
        seen = set()
        for region in publishing.get("targetRegions") or [{"name": doc["location"]}]:
            name = normalize_location(region.get("name") or "")
            if not name or name in seen:
                raise invalid(
                    f"Target region '{region.get('name')}' is missing or listed twice.", "targetRegions"
                )
            seen.add(name)
            count = int(region.get("regionalReplicaCount") or publishing.get("replicaCount") or 1)
            if not 1 <= count <= 100:
                raise invalid("regionalReplicaCount must be between 1 and 100.", "regionalReplicaCount")
            regions.append(
                {
                    **region,
                    "name": region["name"],
                    "regionalReplicaCount": count,
                    "storageAccountType": region.get("storageAccountType", "Standard_LRS"),
                }
            )
        return regions

    def _schedule(self, ctx: Ctx, regions: list[dict], old: dict, now: float) -> dict:
        """When each region's replica completes (regions already replicated keep their times)."""
        out = {}
        for index, region in enumerate(regions):
            name = normalize_location(region["name"])
            if name in old:
                out[name] = old[name]
                continue
            simulated = (
                timing.GALLERY_VERSION_BASE
                + timing.REPLICATION_PER_REGION
                + index * timing.REPLICATION_STAGGER
            )
            out[name] = {"start": now, "done": now + ctx.clock.span(simulated)}
        return out

    def _duration(self, ctx: Ctx, replication: dict, now: float) -> float:
        """The version's LRO ends when the last replica completes (in simulated seconds)."""
        last = max(entry["done"] for entry in replication.values())
        return max(ctx.clock.span(timing.GALLERY_CREATE), last - now) * ctx.clock.speed

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        props_in = body.get("properties") or {}
        source_in = (props_in.get("storageProfile") or {}).get("source") or {}
        new_source = source_in.get("id") or source_in.get("virtualMachineId")
        stored = doc["properties"]["storageProfile"]["source"]
        old_source = stored.get("id") or stored.get("virtualMachineId")
        if new_source and new_source.lower() != old_source.lower():
            raise property_change("galleryImageVersion.properties.storageProfile.source.id")
        new = copy.deepcopy(doc)
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        now = ctx.clock.now()
        publishing_in = props_in.get("publishingProfile") or {}
        if publishing_in.get("targetRegions"):
            regions = self._target_regions(new, publishing_in)
            new["properties"]["publishingProfile"]["targetRegions"] = regions
            kept = {k: v for k, v in new["_emu"]["replication"].items() if not v.get("failed")}
            new["_emu"]["replication"] = self._schedule(ctx, regions, kept, now)
        for field in ("excludeFromLatest", "endOfLifeDate", "replicaCount"):
            if field in publishing_in:
                new["properties"]["publishingProfile"][field] = publishing_in[field]
        error = ctx.injected_error
        if error:
            failed_at = now + ctx.clock.span(timing.GALLERY_CREATE)
            new["_emu"]["replication"] = _fail_replication(new["_emu"]["replication"], error, failed_at)
        return self.start_provisioning(
            ctx, new, self._duration(ctx, new["_emu"]["replication"], now), created=False, error=error
        )


def _aggregated(states: list[str]) -> str:
    if any(state == "Failed" for state in states):
        return "Failed"
    return "Completed" if all(state == "Completed" for state in states) else "InProgress"


def _failure_details(entry: dict | None) -> str:
    error = (entry or {}).get("error") or {}
    return f"{error.get('code', 'InternalError')}: {error.get('message', 'Replication failed.')}"


def _progress(entry: dict | None, now: float) -> int:
    if not entry:
        return 0
    span = max(entry["done"] - entry["start"], 1e-9)
    return int(min(99, max(0, (now - entry["start"]) / span * 100)))


register(Galleries())
register(GalleryImages())
register(GalleryImageVersions())
