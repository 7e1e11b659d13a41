"""Azure Compute Gallery: galleries, image definitions and image versions replicated to regions."""

from __future__ import annotations

import copy

from imagepipe.emulator import ids, replication, security, timing
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.defaults import fill_safety_profile
from imagepipe.emulator.errors import ArmError, invalid, property_change
from imagepipe.emulator.kinds.base import Kind, normalize_location, register
from imagepipe.emulator.operations import iso
from imagepipe.emulator.replies import Answer
from imagepipe.emulator.types import GALLERY, GALLERY_IMAGE, GALLERY_VERSION, IMAGE, VM


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


def _check_definition_security(ctx: Ctx, props: dict) -> None:
    """Features, generation and architecture of a new definition; Gen2 defaults to TrustedLaunchSupported."""
    if props["hyperVGeneration"] not in ("V1", "V2"):
        raise invalid(
            f"The value '{props['hyperVGeneration']}' of 'hyperVGeneration' is invalid.", "hyperVGeneration"
        )
    if props["architecture"] not in ("x64", "Arm64"):
        raise invalid(f"The value '{props['architecture']}' of 'architecture' is invalid.", "architecture")
    if props["architecture"] == "Arm64" and props["hyperVGeneration"] != "V2":
        raise invalid("An Arm64 gallery image must be hyperVGeneration V2.", "hyperVGeneration")
    features = list(props.get("features") or [])
    named = [f for f in features if str(f.get("name", "")).lower() == "securitytype"]
    if len(named) > 1:
        raise invalid("The gallery image feature 'SecurityType' is listed more than once.", "features")
    if named:
        value = security.capability(named[0].get("value"))
        named[0]["value"] = value
        if value != "Standard" and props["hyperVGeneration"] != "V2":
            raise invalid(
                f"The gallery image feature 'SecurityType' with value '{value}' requires hyperVGeneration V2.",
                "features",
            )
    elif props["hyperVGeneration"] == "V2" and security.applies_defaults(ctx.api_version):
        features.append({"name": "SecurityType", "value": "TrustedLaunchSupported"})
    if features:
        props["features"] = features


def _check_version_fits(source: dict, definition: dict) -> None:
    """The version's source must match its definition's generation, architecture and security type."""
    dprops = definition["properties"]
    if source["type"] == IMAGE:
        generation = source["properties"].get("hyperVGeneration", "V1")
        architecture, kind = "x64", security.STANDARD
    else:
        generation = source["_emu"].get("hyper_v_generation", "V1")
        architecture = source["_emu"].get("architecture", "x64")
        kind = security.vm_type(source["properties"])
    if generation != dprops.get("hyperVGeneration", "V1"):
        raise invalid(
            f"The hyperVGeneration '{generation}' of the source does not match the hyperVGeneration "
            f"'{dprops.get('hyperVGeneration', 'V1')}' of gallery image '{definition['name']}'.",
            "storageProfile.source",
        )
    if architecture != dprops.get("architecture", "x64"):
        raise invalid(
            f"The architecture '{architecture}' of the source does not match the architecture "
            f"'{dprops.get('architecture', 'x64')}' of gallery image '{definition['name']}'.",
            "storageProfile.source",
        )
    security.check_version_source(kind, source["type"] == VM, definition)


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
        _check_definition_security(ctx, props)
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


class GalleryImageVersions(Kind):
    type_name = GALLERY_VERSION
    group = "GalleryImageVersions"

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        _parent_or_404(ctx, resource_id)
        return super().put(ctx, resource_id, body)

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        if "replicationstatus" in ctx.query.get("$expand", "").lower():
            status = replication.status(ctx.clock, doc)
            out = {**out, "properties": {**out["properties"], "replicationStatus": status}}
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
        _check_version_fits(source, definition)
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
        regions_done = replication.schedule(ctx.clock, regions, {}, now)
        error = ctx.injected_error
        if error:
            # The version itself fails before any replica is usable (e.g. QuotaExceeded).
            regions_done = replication.fail_all(
                regions_done, error, now + ctx.clock.span(timing.GALLERY_VERSION_BASE)
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
            "safetyProfile": fill_safety_profile(props_in.get("safetyProfile")),
        }
        doc["_emu"].update(storage=storage, deprovisioned=deprovisioned, replication=regions_done)
        return self.start_provisioning(
            ctx, doc, replication.version_duration(ctx.clock, regions_done, now), created=True, error=error
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
                    "excludeFromLatest": region.get("excludeFromLatest", False),
                }
            )
        return regions

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
            new["_emu"]["replication"] = replication.schedule(ctx.clock, regions, kept, now)
        for field in ("excludeFromLatest", "endOfLifeDate", "replicaCount"):
            if field in publishing_in:
                new["properties"]["publishingProfile"][field] = publishing_in[field]
        error = ctx.injected_error
        if error:
            failed_at = now + ctx.clock.span(timing.GALLERY_CREATE)
            new["_emu"]["replication"] = replication.fail_all(new["_emu"]["replication"], error, failed_at)
        return self.start_provisioning(
            ctx,
            new,
            replication.version_duration(ctx.clock, new["_emu"]["replication"], now),
            created=False,
            error=error,
        )


register(Galleries())
register(GalleryImages())
register(GalleryImageVersions())
