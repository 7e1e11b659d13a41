"""Managed disks and snapshots: empty, from an image, a snapshot or another disk, or imported from a blob."""

from __future__ import annotations

import copy
import uuid

from imagepipe.emulator import ids, imagesource, security, timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError, invalid, property_change
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.kinds.restorepoints import restore_source
from imagepipe.emulator.operations import iso
from imagepipe.emulator.replies import Answer
from imagepipe.emulator.types import DISK, SNAPSHOT

_TIERS = {
    "Premium_LRS": "Premium",
    "StandardSSD_LRS": "Standard",
    "Standard_LRS": "Standard",
    "Premium_ZRS": "Premium",
    "StandardSSD_ZRS": "Standard",
}


def _sku(name: str) -> dict:
    return {"name": name, "tier": _TIERS.get(name, "Standard")}


def _common_properties(size: int, creation: dict, created_at: float) -> dict:
    return {
        "creationData": creation,
        "diskSizeGB": size,
        "diskSizeBytes": size * 1024**3,
        "uniqueId": str(uuid.uuid4()),
        "timeCreated": iso(created_at),
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "provisioningState": "Succeeded",
    }


def new_disk(
    vm: dict,
    name: str,
    size: int,
    sku: str,
    creation: dict,
    created_at: float,
    *,
    os_type: str | None = None,
    hyper_v: str | None = None,
) -> dict:
    """A disk Azure makes while creating `vm`: same group and region, attached to it."""
    group = ids.split(vm["id"])
    disk_id = f"{ids.group_id(group['subscription'], group['group'])}/providers/{DISK}/{name}"
    props = _common_properties(size, copy.deepcopy(creation), created_at)
    props["diskState"] = "Attached"
    if os_type:
        props["osType"] = os_type
        props["hyperVGeneration"] = hyper_v or "V1"
    return {
        "id": disk_id,
        "name": name,
        "type": DISK,
        "location": vm["location"],
        "tags": {},
        "managedBy": vm["id"],
        "sku": _sku(sku),
        "properties": props,
        "_emu": {},
    }


def _image_of(ctx: Ctx, doc: dict, creation: dict) -> imagesource.ImageSource:
    """The image a FromImage disk copies: a platform image id, a managed image or a gallery version."""
    reference = creation.get("galleryImageReference") or creation.get("imageReference") or {}
    image_id = reference.get("id") or ""
    if "/publishers/" in image_id.lower():
        parts = image_id.strip("/").split("/")
        low = [p.lower() for p in parts]
        fields = {
            name: parts[low.index(key) + 1]
            for name, key in (
                ("publisher", "publishers"),
                ("offer", "offers"),
                ("sku", "skus"),
                ("version", "versions"),
            )
            if key in low
        }
        return imagesource.resolve(ctx, fields, doc["location"], doc["id"])
    if not image_id:
        raise invalid(
            "Required parameter 'creationData.imageReference.id' is missing (null).", "imageReference"
        )
    return imagesource.resolve(ctx, {"id": image_id}, doc["location"], doc["id"])


def _source_of(ctx: Ctx, doc: dict, creation: dict) -> dict:
    """The stored disk or snapshot a `Copy` names, or Azure's 404."""
    source_id = creation.get("sourceResourceId") or ""
    source = ctx.store.get(source_id)
    if source is None or source["type"] not in (DISK, SNAPSHOT):
        raise ArmError(404, "NotFound", f"Resource '{source_id}' referenced by '{doc['id']}' was not found.")
    return source


class _DiskLike(Kind):
    create_status = 202
    delete_duration = timing.DISK_DELETE

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props_in = body.get("properties") or {}
        creation = copy.deepcopy(props_in.get("creationData") or {})
        option = (creation.get("createOption") or "").lower()
        size = props_in.get("diskSizeGB")
        os_type = props_in.get("osType")
        hyper_v = props_in.get("hyperVGeneration")
        deprovisioned = False
        inherited: dict = {}  # security and architecture a copy keeps, an image passes on
        if option in ("copy", "copystart"):
            source = _source_of(ctx, doc, creation)
            if option == "copy" and source["location"] != doc["location"]:
                raise invalid(
                    f"Source '{source['id']}' is in region '{source['location']}'; a copy to '{doc['location']}' needs createOption CopyStart.",
                    "creationData.sourceResourceId",
                )
            size = size or source["properties"].get("diskSizeGB")
            os_type = os_type or source["properties"].get("osType")
            hyper_v = hyper_v or source["properties"].get("hyperVGeneration")
            deprovisioned = source["_emu"].get("deprovisioned", False)
            creation["sourceUniqueId"] = source["properties"].get("uniqueId")
            inherited = {
                k: copy.deepcopy(source["properties"][k])
                for k in ("securityProfile", "supportedSecurityOption", "supportedCapabilities")
                if source["properties"].get(k)
            }
            inherited["what"] = f"the source '{source['name']}'"
            doc["_emu"]["generalized"] = source["_emu"].get("generalized", False)
        elif option == "restore":  # from a disk restore point (a VM restore point's copy of a disk)
            point = restore_source(ctx, creation.get("sourceResourceId") or "", doc)
            size = size or point["_emu"].get("disk_size_gb")
            os_type = os_type or point["properties"].get("osType")
            hyper_v = hyper_v or point["properties"].get("hyperVGeneration")
            deprovisioned = point["_emu"].get("deprovisioned", False)
            creation["sourceResourceId"] = point["id"]
            creation["sourceUniqueId"] = point["properties"].get("sourceUniqueId")
            inherited = {
                k: copy.deepcopy(point["properties"][k])
                for k in ("securityProfile", "supportedCapabilities")
                if point["properties"].get(k)
            }
            if point["_emu"].get("supported_security_option"):
                inherited["supportedSecurityOption"] = point["_emu"]["supported_security_option"]
            inherited["what"] = f"the disk restore point '{point['name']}'"
        elif option == "empty":
            if not size:
                raise invalid("Required parameter 'diskSizeGB' is missing (null).", "diskSizeGB")
        elif option == "import":
            if not creation.get("sourceUri"):
                raise invalid("Required parameter 'creationData.sourceUri' is missing (null).", "sourceUri")
            size = size or 30
        elif option == "fromimage":
            source = _image_of(ctx, doc, creation)
            size = size or source.os_disk_gb
            os_type = os_type or source.os_type
            hyper_v = hyper_v or source.hyper_v_generation
            deprovisioned = source.deprovisioned
            wanted = security.disk_vm_type(props_in)
            if wanted not in security.CAPABILITIES[source.capability]:
                raise invalid(
                    f"The security type '{wanted}' is not supported by {source.describe}.",
                    "securityProfile.securityType",
                )
            option_of_image = security.supported_option(source.capability)
            inherited = {"supportedCapabilities": {"architecture": source.architecture}}
            if option_of_image:
                inherited["supportedSecurityOption"] = option_of_image
        else:
            raise invalid(
                f"The value '{creation.get('createOption')}' of parameter 'creationData.createOption' is invalid.",
                "createOption",
            )
        props = _common_properties(int(size), creation, ctx.clock.now())
        props["diskState"] = "Unattached"
        if os_type:
            props["osType"] = os_type
        if hyper_v:
            props["hyperVGeneration"] = hyper_v
        what = inherited.pop("what", "its source")
        profile = security.disk_security_profile(
            props_in, inherited.pop("securityProfile", None), hyper_v, what
        )
        if profile:
            props["securityProfile"] = profile
        props.update(inherited)
        self.extra_properties(props, props_in)
        doc["properties"] = props
        doc["sku"] = _sku(((body.get("sku") or {}).get("name")) or self.default_sku)
        doc["_emu"]["deprovisioned"] = deprovisioned
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    default_sku = "Standard_LRS"

    def extra_properties(self, props: dict, props_in: dict) -> None:
        """Type-specific properties (snapshots: incremental)."""

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        props_in = body.get("properties") or {}
        creation = props_in.get("creationData") or {}
        stored = doc["properties"].get("creationData") or {}
        for field in ("createOption", "sourceResourceId", "sourceUri"):
            if creation.get(field) and str(creation[field]).lower() != str(stored.get(field) or "").lower():
                raise property_change(f"creationData.{field}")
        new = copy.deepcopy(doc)
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        size = props_in.get("diskSizeGB")
        if size and int(size) != new["properties"].get("diskSizeGB"):
            if int(size) < int(new["properties"].get("diskSizeGB") or 0):
                raise ArmError(409, "BadRequest", "Disk size cannot be reduced.")
            if new.get("managedBy") and not _owner_deallocated(ctx, new):
                raise ArmError(
                    409,
                    "Conflict",
                    "Disk resizing is allowed only when creating a VM or when the VM is deallocated.",
                )
            new["properties"]["diskSizeGB"] = int(size)
            new["properties"]["diskSizeBytes"] = int(size) * 1024**3
        if (body.get("sku") or {}).get("name"):
            new["sku"] = _sku(body["sku"]["name"])
        return self.start_provisioning(ctx, new, self.update_duration, created=False)


def _owner_deallocated(ctx: Ctx, disk: dict) -> bool:
    vm = ctx.store.get(disk.get("managedBy") or "")
    return vm is None or vm["_emu"].get("power") == "deallocated"


class Disks(_DiskLike):
    type_name = DISK
    group = "Disks"
    create_duration = timing.DISK_CREATE
    update_duration = timing.DISK_CREATE
    default_sku = "Standard_LRS"

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        if doc.get("managedBy"):
            raise ArmError(
                409, "OperationNotAllowed", f"Disk {doc['name']} is attached to VM {doc['managedBy']}."
            )


class Snapshots(_DiskLike):
    type_name = SNAPSHOT
    group = "Snapshots"
    create_duration = timing.SNAPSHOT_CREATE
    update_duration = timing.DISK_CREATE

    def extra_properties(self, props: dict, props_in: dict) -> None:
        props["incremental"] = bool(props_in.get("incremental", False))
        if props["incremental"]:
            # Incremental snapshots of one disk form a family named after the disk's unique id.
            props["incrementalSnapshotFamilyId"] = (
                props["creationData"].get("sourceUniqueId") or props["uniqueId"]
            )


register(Disks())
register(Snapshots())
