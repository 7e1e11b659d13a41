"""VM restore points: restore point collections, restore points and their disk restore points.

As the Compute swagger defines them (ComputeRP restorePoint.json, DiskRP diskRestorePoint.json):
a collection names its source VM; a restore point (an LRO) takes a point-in-time copy of every
managed disk of that VM not excluded, one disk restore point each. The VM keeps running: a
restore point never powers it off. A disk restore point is the source of a managed disk or a
snapshot with `creationData.createOption: Restore` (see `disks.py`).
"""

from __future__ import annotations

import copy
import uuid

from imagepipe.emulator import ids
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.errors import ArmError, invalid, not_allowed, not_found, property_change
from imagepipe.emulator.kinds.base import (
    Kind,
    check_preconditions,
    check_resource_name,
    refuse_in_deleting_group,
    register,
)
from imagepipe.emulator.operations import iso
from imagepipe.emulator.replies import Answer, Reply, Started
from imagepipe.emulator.types import (
    DISK_RESTORE_POINT,
    RESTORE_POINT,
    RESTORE_POINT_COLLECTION,
    VM,
)

# Simulated seconds: the guest's freeze (application consistency) plus the disks' snapshots.
RESTORE_POINT_CREATE = 30.0
RESTORE_POINT_DELETE = 10.0
CONSISTENCY_MODES = ("CrashConsistent", "FileSystemConsistent", "ApplicationConsistent")
MAX_RESTORE_POINTS = 500  # per collection ("a maximum of 500 restore points can be retained")


class RestorePointCollections(Kind):
    """PUT/PATCH are synchronous (200/201, no LRO in the swagger); DELETE is an LRO."""

    type_name = RESTORE_POINT_COLLECTION
    group = "RestorePointCollections"
    delete_duration = RESTORE_POINT_DELETE

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        if ctx.query.get("$expand", "").lower() == "restorepoints":
            points = ctx.store.children(doc["id"], RESTORE_POINT)
            out = {**out, "properties": {**out["properties"], "restorePoints": [public(p) for p in points]}}
        return out

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props = body.get("properties") or {}
        source_id = str((props.get("source") or {}).get("id") or "")
        if not source_id:
            raise invalid("Required parameter 'source.id' is missing (null).", "properties.source.id")
        source = ctx.store.get(source_id)
        if source is not None and source["type"].lower() == RESTORE_POINT_COLLECTION.lower():
            raise invalid(
                "Copying restore points between regions (a restore point collection as the source) is not emulated.",
                "properties.source.id",
            )
        if source is None or source["type"].lower() != VM.lower():
            raise not_found(source_id, VM)
        if source["location"] != doc["location"]:
            raise invalid(
                f"The restore point collection must be in the region of its source VM '{source['location']}'.",
                "location",
            )
        doc["properties"] = {
            "source": {"id": source["id"], "location": source["location"]},
            "restorePointCollectionId": str(uuid.uuid4()),
            "provisioningState": "Succeeded",
        }
        doc["_emu"]["etag"] = f'"{uuid.uuid4()}"'
        ctx.store.put(doc)
        return Reply(self.render(ctx, doc), status=201)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        """Only tags may change ("When updating a restore point collection, only tags may be modified")."""
        self.check_immutable(doc, body)
        source_id = ((body.get("properties") or {}).get("source") or {}).get("id")
        if source_id and ids.key(source_id) != ids.key(doc["properties"]["source"]["id"]):
            raise property_change("source.id")
        new = copy.deepcopy(doc)
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        new["_emu"]["etag"] = f'"{uuid.uuid4()}"'
        ctx.store.put(new)
        return Reply(self.render(ctx, new), status=200)


class RestorePoints(Kind):
    type_name = RESTORE_POINT
    group = "RestorePoints"
    create_duration = RESTORE_POINT_CREATE
    delete_duration = RESTORE_POINT_DELETE
    needs_location = False

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        out.pop("location", None)  # a proxy resource: no location, no tags
        out.pop("tags", None)
        if ctx.query.get("$expand", "").lower() == "instanceview":
            out = {**out, "properties": {**out["properties"], "instanceView": self._instance_view(ctx, doc)}}
        return out

    def _instance_view(self, ctx: Ctx, doc: dict) -> dict:
        state = doc["properties"].get("provisioningState", "Succeeded")
        disks = ctx.store.children(doc["id"], DISK_RESTORE_POINT)
        done = state == "Succeeded"
        return {
            "diskRestorePoints": [
                {
                    "id": d["id"],
                    "replicationStatus": {
                        "status": {
                            "code": f"ReplicationState/{'succeeded' if done else 'inProgress'}",
                            "level": "Info",
                            "displayStatus": "Succeeded" if done else "In progress",
                        },
                        "completionPercent": 100 if done else 0,
                    },
                }
                for d in disks
            ],
            "statuses": [
                {
                    "code": f"ProvisioningState/{state.lower()}",
                    "level": "Info" if state != "Failed" else "Error",
                    "displayStatus": f"Provisioning {state.lower()}",
                    "time": doc["properties"].get("timeCreated"),
                }
            ],
        }

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        existing = ctx.store.get(resource_id)
        check_preconditions(ctx, existing)
        if existing is not None:
            raise not_allowed(
                f"Restore point '{existing['name']}' already exists; updating properties of an existing restore point is not allowed."
            )
        check_resource_name(ids.name_of(resource_id))
        refuse_in_deleting_group(ctx, resource_id)
        collection = ctx.store.get(ids.parent_of(resource_id))
        if collection is None or collection["type"].lower() != RESTORE_POINT_COLLECTION.lower():
            raise not_found(ids.parent_of(resource_id), RESTORE_POINT_COLLECTION)
        return self._create(ctx, collection, resource_id, body.get("properties") or {})

    def _create(self, ctx: Ctx, collection: dict, resource_id: str, props: dict) -> Answer:
        if props.get("sourceRestorePoint"):
            raise invalid(
                "Copying a restore point to another region (sourceRestorePoint) is not emulated.",
                "properties.sourceRestorePoint",
            )
        mode = props.get("consistencyMode") or "ApplicationConsistent"
        if mode not in CONSISTENCY_MODES:
            raise invalid(
                f"The value '{mode}' of parameter 'consistencyMode' is invalid; allowed: {', '.join(CONSISTENCY_MODES)}.",
                "properties.consistencyMode",
            )
        vm = ctx.store.get(collection["properties"]["source"]["id"])
        if vm is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The source VM '{collection['properties']['source']['id']}' of restore point collection "
                f"'{collection['name']}' was not found.",
            )
        _check_vm(ctx, vm)
        if len(ctx.store.children(collection["id"], RESTORE_POINT)) >= MAX_RESTORE_POINTS:
            raise not_allowed(
                f"Restore point collection '{collection['name']}' already holds {MAX_RESTORE_POINTS} restore points, the most allowed."
            )
        excluded = {ids.key(str((d or {}).get("id") or "")) for d in props.get("excludeDisks") or []}
        storage = vm["properties"].get("storageProfile") or {}
        attached = [storage.get("osDisk") or {}, *(storage.get("dataDisks") or [])]
        attached_ids = {ids.key((d.get("managedDisk") or {}).get("id") or "") for d in attached}
        for disk_id in excluded - attached_ids:
            raise invalid(
                f"Disk '{disk_id}' in excludeDisks is not attached to the VM '{vm['name']}'.", "excludeDisks"
            )
        power = vm["_emu"].get("power", "running")
        # The guest takes part in application/file-system consistency only while it runs;
        # a stopped VM's disks are at rest, so the copy is crash consistent.
        effective = mode if power == "running" else "CrashConsistent"
        now = ctx.clock.now()
        doc = {
            "id": resource_id,
            "name": ids.name_of(resource_id),
            "type": self.type_name,
            "location": collection["location"],
            "tags": {},
            "properties": {},
            "_emu": {},
        }
        disk_points: list[dict] = []
        os_entry, data_entries = None, []
        for position, entry in enumerate(attached):
            disk_id = (entry.get("managedDisk") or {}).get("id") or ""
            disk = ctx.store.get(disk_id)
            if disk is None or ids.key(disk_id) in excluded:
                continue
            point = _disk_restore_point(doc, disk, now)
            disk_points.append(point)
            meta = {
                "name": entry.get("name", disk["name"]),
                "caching": entry.get("caching", "None"),
                "diskSizeGB": disk["properties"].get("diskSizeGB"),
                "managedDisk": {"id": disk["id"], "storageAccountType": disk["sku"]["name"]},
                "diskRestorePoint": {"id": point["id"]},
                "writeAcceleratorEnabled": False,
            }
            if position == 0:
                os_entry = {"osType": disk["properties"].get("osType", vm["_emu"].get("os_type")), **meta}
            else:
                data_entries.append({"lun": entry.get("lun", position - 1), **meta})
        storage_meta: dict = {
            "dataDisks": data_entries,
            "diskControllerType": storage.get("diskControllerType", "SCSI"),
        }
        if os_entry is not None:
            storage_meta["osDisk"] = os_entry
        source_metadata = {
            "vmId": vm["properties"].get("vmId"),
            "hardwareProfile": copy.deepcopy(vm["properties"].get("hardwareProfile") or {}),
            "storageProfile": storage_meta,
            "location": vm["location"],
            "hyperVGeneration": vm["_emu"].get("hyper_v_generation", "V1"),
        }
        for optional in ("osProfile", "diagnosticsProfile", "securityProfile", "licenseType"):
            if vm["properties"].get(optional):
                source_metadata[optional] = copy.deepcopy(vm["properties"][optional])
        doc["properties"] = {
            "excludeDisks": [{"id": d["id"]} for d in props.get("excludeDisks") or []],
            "sourceMetadata": source_metadata,
            "consistencyMode": effective,
            "timeCreated": iso(now),
        }
        for point in disk_points:
            ctx.store.put(point)
        ready = [{"merge": p["id"], "doc": {"_emu": {"ready": True}}} for p in disk_points]
        gone = [{"delete": p["id"]} for p in disk_points]
        # Not the VM's operation: the VM stays running and free for other operations.
        return self.start_provisioning(
            ctx, doc, self.create_duration, created=True, success=ready, failure=gone
        )

    def start_provisioning(self, ctx: Ctx, doc: dict, duration: float, *, created: bool, **op_args) -> Answer:
        started = super().start_provisioning(ctx, doc, duration, created=created, **op_args)
        assert isinstance(started, Started)
        # The swagger's operation is RestorePoints_Create (there is no update).
        started.op["name"] = "RestorePoints_Create"
        ctx.store.put_operation(started.op)
        return started


def _check_vm(ctx: Ctx, vm: dict) -> None:
    state = vm["properties"].get("provisioningState")
    if state in ("Deleting", "Creating", "Failed"):
        raise not_allowed(
            f"A restore point cannot be created for VM '{vm['name']}' while its provisioning state is {state}."
        )
    if vm["_emu"].get("generalized"):
        raise not_allowed(
            f"A restore point cannot be created for VM '{vm['name']}' since the VM is generalized."
        )
    running = ctx.store.operations.get(vm["_emu"].get("op") or "")
    if running is not None and ctx.ops.status(running) == "InProgress":
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"A restore point cannot be created for VM '{vm['name']}' while operation "
            f"'{running['name']}' is in progress on it.",
        )


def _disk_restore_point(restore_point: dict, disk: dict, now: float) -> dict:
    """A disk's point-in-time copy: what a disk made from it will hold (size, OS, guest state)."""
    name = f"{disk['name']}_{uuid.uuid4()}"
    props = disk["properties"]
    out_props = {
        "timeCreated": iso(now),
        "sourceResourceId": disk["id"],
        "familyId": str(uuid.uuid5(uuid.NAMESPACE_URL, ids.key(disk["id"]))),
        "sourceUniqueId": props.get("uniqueId"),
        "encryption": copy.deepcopy(props.get("encryption") or {"type": "EncryptionAtRestWithPlatformKey"}),
        "networkAccessPolicy": props.get("networkAccessPolicy", "AllowAll"),
        "publicNetworkAccess": props.get("publicNetworkAccess", "Enabled"),
    }
    if props.get("osType"):
        out_props["osType"] = props["osType"]
        out_props["hyperVGeneration"] = props.get("hyperVGeneration", "V1")
    for kept in ("securityProfile", "supportedCapabilities"):  # what a disk made from it inherits
        if props.get(kept):
            out_props[kept] = copy.deepcopy(props[kept])
    return {
        "id": f"{restore_point['id']}/diskRestorePoints/{name}",
        "name": name,
        "type": DISK_RESTORE_POINT,
        "location": restore_point["location"],
        "properties": out_props,
        "_emu": {
            "ready": False,
            "disk_size_gb": props.get("diskSizeGB"),
            "sku": disk["sku"]["name"],
            "deprovisioned": disk["_emu"].get("deprovisioned", False),
            "supported_security_option": props.get("supportedSecurityOption"),
        },
    }


class DiskRestorePoints(Kind):
    """Read-only: made by their restore point, deleted with it."""

    type_name = DISK_RESTORE_POINT
    group = "DiskRestorePoint"

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        out.pop("location", None)
        return out

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        raise ArmError(
            405, "MethodNotAllowed", "Disk restore points are made by creating a restore point of their VM."
        )

    def patch(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        return self.put(ctx, resource_id, body)

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        return self.put(ctx, resource_id, {})


def restore_source(ctx: Ctx, source_id: str, target: dict) -> dict:
    """The disk restore point a `Restore` disk or snapshot is made from, checked as Azure does."""
    point = ctx.store.get(source_id)
    if point is None or point["type"].lower() != DISK_RESTORE_POINT.lower():
        raise ArmError(
            404, "NotFound", f"Resource '{source_id}' referenced by '{target['id']}' was not found."
        )
    if not point["_emu"].get("ready"):
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Disk restore point '{point['name']}' is not ready yet: its restore point is still being created.",
        )
    if point["location"] != target["location"]:
        raise invalid(
            f"Disk restore point '{point['id']}' is in region '{point['location']}', not in '{target['location']}'.",
            "creationData.sourceResourceId",
        )
    return point


register(RestorePointCollections())
register(RestorePoints())
register(DiskRestorePoints())
