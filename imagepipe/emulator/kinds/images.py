"""Managed images: from a generalized VM (all its disks), from snapshots or disks, or from blob URIs."""

from __future__ import annotations

import copy

from imagepipe.emulator import ids, security, timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError, invalid, not_allowed, property_change
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.replies import Answer
from imagepipe.emulator.types import DISK, IMAGE, SNAPSHOT, VM


class Images(Kind):
    type_name = IMAGE
    group = "Images"
    create_duration = timing.IMAGE_CREATE
    update_duration = timing.DISK_CREATE

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props_in = copy.deepcopy(body.get("properties") or {})
        source_vm = (props_in.get("sourceVirtualMachine") or {}).get("id")
        if source_vm:
            props, deprovisioned = self._from_vm(ctx, doc, source_vm, props_in)
        elif props_in.get("storageProfile"):
            props, deprovisioned = self._from_disks(ctx, doc, props_in)
        else:
            raise invalid(
                "Either 'sourceVirtualMachine' or 'storageProfile.osDisk' must be set.", "properties"
            )
        doc["properties"] = props
        doc["_emu"]["deprovisioned"] = deprovisioned
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    def _from_vm(self, ctx: Ctx, doc: dict, vm_id: str, props_in: dict) -> tuple[dict, bool]:
        vm = ctx.store.get(vm_id)
        if vm is None or vm["type"] != VM:
            raise ArmError(
                404,
                "NotFound",
                f"Source Virtual Machine '{vm_id}' specified in the request does not exist in this Azure location.",
            )
        if vm["location"] != doc["location"]:
            raise invalid(
                f"Source Virtual Machine '{vm['id']}' is in location '{vm['location']}', not in the image's location '{doc['location']}'.",
                "sourceVirtualMachine",
            )
        # Azure checks the security type first: a Trusted Launch VM is refused generalized or not.
        security.check_managed_image_source(
            security.vm_type(vm["properties"]), vm["_emu"].get("architecture", "x64")
        )
        if not vm["_emu"].get("generalized"):
            raise not_allowed(
                f"The operation 'Create Image' requires the Virtual Machine '{vm['name']}' to be Generalized."
            )
        storage = vm["properties"]["storageProfile"]
        os_disk = storage["osDisk"]
        profile = {
            "osDisk": {
                "osType": os_disk["osType"],
                "osState": "Generalized",
                "managedDisk": {"id": os_disk["managedDisk"]["id"]},
                "caching": os_disk.get("caching", "ReadWrite"),
                "storageAccountType": os_disk["managedDisk"].get("storageAccountType", "Premium_LRS"),
                "diskSizeGB": os_disk.get("diskSizeGB"),
            },
            "dataDisks": [
                {
                    "lun": d["lun"],
                    "managedDisk": {"id": d["managedDisk"]["id"]},
                    "caching": d.get("caching", "None"),
                    "storageAccountType": d["managedDisk"].get("storageAccountType", "Premium_LRS"),
                    "diskSizeGB": d.get("diskSizeGB"),
                }
                for d in storage.get("dataDisks") or []
            ],
            "zoneResilient": bool((props_in.get("storageProfile") or {}).get("zoneResilient", False)),
        }
        props = {
            "sourceVirtualMachine": {"id": vm["id"]},
            "storageProfile": profile,
            "hyperVGeneration": props_in.get("hyperVGeneration")
            or vm["_emu"].get("hyper_v_generation", "V1"),
        }
        return props, bool(vm["_emu"].get("deprovisioned"))

    def _from_disks(self, ctx: Ctx, doc: dict, props_in: dict) -> tuple[dict, bool]:
        profile = props_in["storageProfile"]
        os_disk = profile.get("osDisk")
        if not os_disk:
            raise invalid("Required parameter 'storageProfile.osDisk' is missing (null).", "osDisk")
        if os_disk.get("osType") not in ("Linux", "Windows"):
            raise invalid("Required parameter 'osDisk.osType' is missing or invalid.", "osDisk.osType")
        if os_disk.get("osState") not in ("Generalized", "Specialized"):
            raise invalid("Required parameter 'osDisk.osState' is missing or invalid.", "osDisk.osState")
        deprovisioned = self._check_disk_source(ctx, doc, os_disk, "osDisk")
        for index, data in enumerate(profile.get("dataDisks") or []):
            if "lun" not in data:
                raise invalid(f"Required parameter 'dataDisks[{index}].lun' is missing (null).", "lun")
            self._check_disk_source(ctx, doc, data, f"dataDisks[{index}]")
        props = {
            "storageProfile": {
                "osDisk": copy.deepcopy(os_disk),
                "dataDisks": copy.deepcopy(profile.get("dataDisks") or []),
                "zoneResilient": bool(profile.get("zoneResilient", False)),
            },
            "hyperVGeneration": props_in.get("hyperVGeneration", "V1"),
        }
        props["storageProfile"]["osDisk"].setdefault("caching", "ReadWrite")
        return props, deprovisioned

    def _check_disk_source(self, ctx: Ctx, doc: dict, disk: dict, where: str) -> bool:
        """Check the disk's snapshot/managed disk/blob; answer whether its guest was deprovisioned."""
        for field, type_name in (("snapshot", SNAPSHOT), ("managedDisk", DISK)):
            ref = (disk.get(field) or {}).get("id")
            if ref:
                source = ctx.store.get(ref)
                if source is None or source["type"] != type_name:
                    raise ArmError(
                        404,
                        "NotFound",
                        f"Resource '{ref}' referenced by '{doc['id']}' ({where}) was not found.",
                    )
                if source["location"] != doc["location"]:
                    raise invalid(
                        f"Resource '{ref}' is in location '{source['location']}', not in '{doc['location']}'.",
                        f"{where}.{field}",
                    )
                kind = security.disk_vm_type(source["properties"])
                architecture = (source["properties"].get("supportedCapabilities") or {}).get("architecture")
                security.check_managed_image_source(kind, architecture or "x64")
                if not disk.get("diskSizeGB"):
                    disk["diskSizeGB"] = source["properties"].get("diskSizeGB")
                return bool(source["_emu"].get("deprovisioned"))
        if disk.get("blobUri"):
            return True  # an uploaded VHD is trusted to be prepared as its osState says
        raise invalid(f"One of 'snapshot', 'managedDisk' or 'blobUri' must be set in '{where}'.", where)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        props_in = body.get("properties") or {}
        source_vm = (props_in.get("sourceVirtualMachine") or {}).get("id")
        stored_vm = (doc["properties"].get("sourceVirtualMachine") or {}).get("id")
        if source_vm and (not stored_vm or source_vm.lower() != stored_vm.lower()):
            raise property_change("sourceVirtualMachine")
        os_in = (props_in.get("storageProfile") or {}).get("osDisk") or {}
        os_stored = doc["properties"]["storageProfile"]["osDisk"]
        for field in ("snapshot", "managedDisk"):
            ref = (os_in.get(field) or {}).get("id")
            if ref and ref.lower() != ((os_stored.get(field) or {}).get("id") or "").lower():
                raise property_change(f"storageProfile.osDisk.{field}")
        if os_in.get("blobUri") and os_in["blobUri"] != os_stored.get("blobUri"):
            raise property_change("storageProfile.osDisk.blobUri")
        new = copy.deepcopy(doc)
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        return self.start_provisioning(ctx, new, self.update_duration, created=False)

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        if ctx.ops.in_flight(ids.key(doc["id"])):
            raise not_allowed(
                f"Operation 'Delete' is not allowed since Virtual Machines are being provisioned using the Image '{doc['id']}'."
            )


register(Images())
