"""Microsoft.Compute/virtualMachines: create from an image or disk, power actions, generalize, Run Command."""

from __future__ import annotations

import copy
import uuid

from imagepipe.emulator import guest, imagesource, security, timing
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.defaults import fill_os_profile, guest_os
from imagepipe.emulator.errors import ArmError, invalid, not_allowed, property_change
from imagepipe.emulator.kinds import vm_network
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.kinds.disks import new_disk
from imagepipe.emulator.operations import iso
from imagepipe.emulator.osprofile import (
    check_computer_name,
    check_credentials,
    same_reference,
    scrub_os_profile,
)
from imagepipe.emulator.replies import Answer, Reply, Started
from imagepipe.emulator.types import DISK, VM

_POWER_DISPLAY = {
    "running": "VM running",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
}


DEFAULT_SIZE = "Standard_DS1_v2"


def disk_architecture(disk: dict) -> str:
    return ((disk["properties"].get("supportedCapabilities") or {}).get("architecture")) or "x64"


def mark_os_disk(created: list[dict], os_disk: dict, vm_security_type: str, architecture: str) -> None:
    disk_id = (os_disk.get("managedDisk") or {}).get("id")
    for disk in created:
        if disk["id"] == disk_id:
            profile = security.os_disk_profile(vm_security_type)
            if profile:
                disk["properties"]["securityProfile"] = profile
            disk["properties"]["supportedCapabilities"] = {"architecture": architecture}


def op_in_flight(ctx: Ctx, doc: dict) -> dict | None:
    op = ctx.store.operations.get(doc["_emu"].get("op") or "")
    if op is not None and ctx.ops.status(op) == "InProgress":
        return op
    return None


class VirtualMachines(Kind):
    type_name = VM
    group = "VirtualMachines"
    create_duration = timing.VM_CREATE
    update_duration = timing.VM_UPDATE
    delete_duration = timing.VM_DELETE

    def __init__(self) -> None:
        super().__init__()
        self.actions = {
            "poweroff": self.power_off,
            "start": self.start,
            "restart": self.restart,
            "deallocate": self.deallocate,
            "generalize": self.generalize,
            "runcommand": self.run_command,
        }

    # rendering -------------------------------------------------------------------------------
    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        expand = ctx.query.get("$expand", "").lower()
        if "instanceview" in expand or ctx.query.get("statusOnly", "").lower() == "true":
            out = {**out, "properties": {**out["properties"], "instanceView": self.instance_view(ctx, doc)}}
        return out

    def instance_view(self, ctx: Ctx, doc: dict) -> dict:
        emu = doc["_emu"]
        state = doc["properties"].get("provisioningState", "Succeeded")
        op = ctx.store.operations.get(emu.get("op") or "")
        when = iso(op["end"] if op else ctx.clock.now())
        if state == "Failed" and op and op.get("error"):
            provisioning = {
                "code": f"ProvisioningState/failed/{op['error']['code']}",
                "level": "Error",
                "displayStatus": "Provisioning failed",
                "message": op["error"]["message"],
                "time": when,
            }
        else:
            provisioning = {
                "code": f"ProvisioningState/{state.lower()}",
                "level": "Info",
                "displayStatus": f"Provisioning {state.lower()}",
                "time": when,
            }
        statuses = [provisioning]
        if emu.get("generalized"):
            statuses.append(
                {"code": "OSState/generalized", "level": "Info", "displayStatus": "VM generalized"}
            )
        power = emu.get("power", "running")
        statuses.append(
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": _POWER_DISPLAY[power]}
        )
        storage = doc["properties"].get("storageProfile", {})
        disks = [storage.get("osDisk", {})] + list(storage.get("dataDisks") or [])
        return {
            # A VM outside availability sets and scale sets is in update and fault domain 0.
            "platformUpdateDomain": 0,
            "platformFaultDomain": 0,
            "computerName": (doc["properties"].get("osProfile") or {}).get("computerName", doc["name"]),
            "osName": emu.get("os_name", ""),
            "osVersion": emu.get("os_version", ""),
            "hyperVGeneration": emu.get("hyper_v_generation", "V1"),
            "vmAgent": {
                "vmAgentVersion": "2.12.0.2",
                "statuses": [
                    {
                        "code": "ProvisioningState/succeeded",
                        "level": "Info",
                        "displayStatus": "Ready",
                        "message": "Guest Agent is running",
                        "time": when,
                    }
                ],
            },
            "disks": [
                {
                    "name": d.get("name", ""),
                    "statuses": [
                        {
                            "code": "ProvisioningState/succeeded",
                            "level": "Info",
                            "displayStatus": "Provisioning succeeded",
                            "time": when,
                        }
                    ],
                }
                for d in disks
                if d
            ],
            "isVMInStandbyPool": False,
            "statuses": statuses,
        }

    def sub_get(self, ctx: Ctx, doc: dict, segment: str) -> dict:
        if segment.lower() == "instanceview":
            return self.instance_view(ctx, doc)
        return super().sub_get(ctx, doc, segment)

    # create ----------------------------------------------------------------------------------
    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props = copy.deepcopy(body.get("properties") or {})
        vm_id, location = doc["id"], doc["location"]
        storage = props.get("storageProfile") or {}
        os_disk_in = storage.get("osDisk") or {}
        network = vm_network.plan(ctx, doc, props.get("networkProfile"))
        source: imagesource.ImageSource | None = None
        attach_disk: dict | None = None
        if (os_disk_in.get("createOption") or "").lower() == "attach":
            if props.get("osProfile"):
                raise invalid("Parameter 'osProfile' is not allowed.", "osProfile")
            attach_disk = copy.deepcopy(self._disk_to_attach(ctx, vm_id, location, os_disk_in))
            os_type = attach_disk["properties"].get("osType") or os_disk_in.get("osType") or "Linux"
            deprovisioned = attach_disk["_emu"].get("deprovisioned", False)
            hyper_v = attach_disk["properties"].get("hyperVGeneration", "V1")
            capability = security.attached_capability(attach_disk["properties"])
            architecture = disk_architecture(attach_disk)
            what = f"the disk '{attach_disk['name']}'"
        else:
            reference = storage.get("imageReference")
            if not reference:
                raise invalid(
                    "Required parameter 'storageProfile.imageReference' is missing (null).", "imageReference"
                )
            source = imagesource.resolve(ctx, reference, location, vm_id)
            os_type, hyper_v = source.os_type, source.hyper_v_generation
            capability, architecture, what = source.capability, source.architecture, source.describe
            deprovisioned = False  # a VM provisioned from an image has a fresh identity
            if source.os_state == "Generalized":
                check_credentials(os_type, props.get("osProfile") or {})
                check_computer_name(
                    os_type, (props.get("osProfile") or {}).get("computerName") or doc["name"]
                )
            elif props.get("osProfile"):
                raise invalid("Parameter 'osProfile' is not allowed.", "osProfile")
            else:
                deprovisioned = source.deprovisioned

        profile = security.security_profile(
            props.get("securityProfile"),
            capability_of_source=capability,
            hyper_v=hyper_v,
            architecture=architecture,
            size=(props.get("hardwareProfile") or {}).get("vmSize") or DEFAULT_SIZE,
            api_version=ctx.api_version,
            what=what,
        )
        if profile is None:
            props.pop("securityProfile", None)
        else:
            props["securityProfile"] = profile

        created_at = ctx.clock.now()
        now = iso(created_at)
        created: list[dict] = []
        os_disk = self._os_disk(doc, os_disk_in, os_type, hyper_v, source, attach_disk, created, created_at)
        if source is not None:  # the OS disk Azure makes carries the VM's security type and architecture
            mark_os_disk(created, os_disk, security.vm_type(props), architecture)
        data_disks = self._data_disks(ctx, doc, storage.get("dataDisks") or [], source, created)

        props["storageProfile"] = {
            **({"imageReference": source.reference} if source else {}),
            "osDisk": os_disk,
            "dataDisks": data_disks,
            "diskControllerType": storage.get("diskControllerType", "SCSI"),
        }
        if props.get("osProfile"):
            had_password = bool(props["osProfile"].get("adminPassword"))
            props["osProfile"] = fill_os_profile(
                scrub_os_profile(props["osProfile"]), os_type, had_password=had_password
            )
            props["osProfile"].setdefault("computerName", doc["name"])
        props.setdefault("hardwareProfile", {}).setdefault("vmSize", DEFAULT_SIZE)
        props["networkProfile"] = network.profile
        props["vmId"] = str(uuid.uuid4())
        props["timeCreated"] = now
        doc["properties"] = props
        for extra in ("zones", "identity", "plan"):
            if extra in body:
                doc[extra] = copy.deepcopy(body[extra])
        doc["_emu"].update(
            power="starting",
            generalized=False,
            deprovisioned=deprovisioned,
            os_type=os_type,
            hyper_v_generation=hyper_v,
            architecture=architecture,
        )
        doc["_emu"]["os_name"], doc["_emu"]["os_version"] = guest_os(
            os_type, source.reference if source else {}
        )
        # NICs (referenced or made from configurations) are attached now and stay attached if the
        # create fails, as in Azure; deleting the VM then applies their deleteOption.
        vm_network.attach(ctx, network, vm_id)
        for disk in created:
            ctx.store.put(disk)

        error = (source.failure if source else None) or ctx.injected_error
        duration = self.create_duration
        if error is None and source and source.os_state == "Generalized" and not source.deprovisioned:
            error = {
                "code": "OSProvisioningTimedOut",
                "message": f"OS Provisioning for VM '{doc['name']}' did not finish in the allotted time. The VM may still "
                "finish provisioning successfully. Please check provisioning state later. Also, make sure the image has "
                "been properly prepared (generalized): deprovision (Linux, waagent -deprovision) or sysprep (Windows).",
            }
            duration = timing.OS_PROVISIONING_TIMEOUT
        power_after_failure = (
            "running" if error and error["code"] == "OSProvisioningTimedOut" else "deallocated"
        )
        return self.start_provisioning(
            ctx,
            doc,
            duration,
            created=True,
            error=error,
            success=[{"merge": vm_id, "doc": {"_emu": {"power": "running"}}}],
            failure=[{"merge": vm_id, "doc": {"_emu": {"power": power_after_failure}}}],
            image_key=source.image_key if source else None,
        )

    def _disk_to_attach(self, ctx: Ctx, vm_id: str, location: str, disk_in: dict) -> dict:
        disk_id = (disk_in.get("managedDisk") or {}).get("id") or ""
        disk = ctx.store.get(disk_id)
        if disk is None or disk["type"] != DISK:
            raise ArmError(404, "NotFound", f"Disk '{disk_id}' cannot be found.")
        owner = disk.get("managedBy")
        if owner and owner.lower() != vm_id.lower():
            raise ArmError(
                409,
                "ConflictingUserInput",
                f"Disk '{disk['name']}' cannot be attached as the disk is already owned by VM '{owner}'.",
            )
        if disk["location"] != location:
            raise invalid(
                f"Disk '{disk['id']}' is in location '{disk['location']}', not in '{location}'.",
                "managedDisk.id",
            )
        return disk

    def _os_disk(
        self,
        doc: dict,
        disk_in: dict,
        os_type: str,
        hyper_v: str,
        source: imagesource.ImageSource | None,
        attach: dict | None,
        created: list[dict],
        created_at: float,
    ) -> dict:
        managed = copy.deepcopy(disk_in.get("managedDisk") or {})
        out = {
            "osType": os_type,
            "createOption": "Attach" if attach else "FromImage",
            "caching": disk_in.get("caching", "ReadWrite"),
            "deleteOption": disk_in.get("deleteOption", "Detach"),
        }
        if attach:
            attach.update(managedBy=doc["id"])
            attach["properties"]["diskState"] = "Attached"
            created.append(attach)
            out.update(
                name=attach["name"],
                managedDisk={"id": attach["id"], "storageAccountType": attach["sku"]["name"]},
            )
            out["diskSizeGB"] = attach["properties"].get("diskSizeGB")
            return out
        assert source is not None
        name = disk_in.get("name") or f"{doc['name']}_OsDisk_1_{uuid.uuid4().hex}"
        size = int(disk_in.get("diskSizeGB") or source.os_disk_gb)
        sku = managed.get("storageAccountType") or "Premium_LRS"
        disk = new_disk(doc, name, size, sku, source.creation, created_at, os_type=os_type, hyper_v=hyper_v)
        disk["_emu"]["deprovisioned"] = False
        created.append(disk)
        out.update(name=name, diskSizeGB=size, managedDisk={"id": disk["id"], "storageAccountType": sku})
        return out

    def _data_disks(
        self,
        ctx: Ctx,
        doc: dict,
        disks_in: list[dict],
        source: imagesource.ImageSource | None,
        created: list[dict],
    ) -> list[dict]:
        out: list[dict] = []
        by_lun = {int(d.get("lun", i)): d for i, d in enumerate(disks_in)}
        image_luns = {int(d["lun"]): d for d in (source.data_disks if source else [])}
        for lun in sorted(set(by_lun) | set(image_luns)):
            disk_in = by_lun.get(lun, {"lun": lun, "createOption": "FromImage"})
            option = (disk_in.get("createOption") or "Empty").lower()
            managed = copy.deepcopy(disk_in.get("managedDisk") or {})
            entry = {
                "lun": lun,
                "caching": disk_in.get("caching", "None"),
                "deleteOption": disk_in.get("deleteOption", "Detach"),
            }
            if option == "attach":
                disk = copy.deepcopy(self._disk_to_attach(ctx, doc["id"], doc["location"], disk_in))
                disk["managedBy"] = doc["id"]
                disk["properties"]["diskState"] = "Attached"
                created.append(disk)
                entry.update(
                    name=disk["name"], createOption="Attach", diskSizeGB=disk["properties"].get("diskSizeGB")
                )
                entry["managedDisk"] = {"id": disk["id"], "storageAccountType": disk["sku"]["name"]}
            else:
                if option == "fromimage" and lun not in image_luns:
                    raise invalid(f"The image has no data disk at LUN {lun}.", f"dataDisks[{lun}]")
                if option == "empty" and not disk_in.get("diskSizeGB"):
                    raise invalid("Required parameter 'dataDisk.diskSizeGB' is missing (null).", "diskSizeGB")
                size = int(disk_in.get("diskSizeGB") or image_luns.get(lun, {}).get("diskSizeGB") or 32)
                name = disk_in.get("name") or f"{doc['name']}_disk{lun + 2}_{uuid.uuid4().hex}"
                sku = managed.get("storageAccountType") or "Premium_LRS"
                creation = {"createOption": "Empty"} if option == "empty" else {**source.creation, "lun": lun}  # type: ignore[union-attr]
                disk = new_disk(doc, name, size, sku, creation, ctx.clock.now())
                created.append(disk)
                entry.update(
                    name=name, createOption="Empty" if option == "empty" else "FromImage", diskSizeGB=size
                )
                entry["managedDisk"] = {"id": disk["id"], "storageAccountType": sku}
            out.append(entry)
        return out

    # update ----------------------------------------------------------------------------------
    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        props = body.get("properties") or {}
        reference = (props.get("storageProfile") or {}).get("imageReference")
        stored = doc["properties"].get("storageProfile", {}).get("imageReference")
        if reference and stored and not same_reference(reference, stored):
            raise property_change("imageReference")
        os_disk = (props.get("storageProfile") or {}).get("osDisk") or {}
        if (
            os_disk.get("name")
            and os_disk["name"].lower() != doc["properties"]["storageProfile"]["osDisk"]["name"].lower()
        ):
            raise property_change("osDisk.name")
        wanted = (props.get("securityProfile") or {}).get("securityType")
        if wanted and wanted != security.vm_type(doc["properties"]):
            raise property_change("securityProfile.securityType")
        admin = (props.get("osProfile") or {}).get("adminUsername")
        if admin and admin != (doc["properties"].get("osProfile") or {}).get("adminUsername"):
            raise property_change("osProfile.adminUsername")
        network_profile = vm_network.updated_profile(doc, props.get("networkProfile"))
        running = op_in_flight(ctx, doc)
        new = copy.deepcopy(doc)
        new["properties"]["networkProfile"] = network_profile
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        size = (props.get("hardwareProfile") or {}).get("vmSize")
        if size:
            new["properties"]["hardwareProfile"]["vmSize"] = size
        if running is not None:  # the same desired state again while creating: join the running operation
            ctx.store.put(new)
            return Started(running, 200, self.render(ctx, new))
        return self.start_provisioning(ctx, new, self.update_duration, created=False)

    # delete ----------------------------------------------------------------------------------
    def delete_effects(self, ctx: Ctx, doc: dict) -> list[dict]:
        effects: list[dict] = []
        storage = doc["properties"].get("storageProfile", {})
        for disk in [storage.get("osDisk") or {}] + list(storage.get("dataDisks") or []):
            disk_id = (disk.get("managedDisk") or {}).get("id")
            if not disk_id:
                continue
            if disk.get("deleteOption") == "Delete":
                effects.append({"delete": disk_id})
            else:
                effects.append(
                    {"merge": disk_id, "doc": {"managedBy": None, "properties": {"diskState": "Unattached"}}}
                )
        for ref in (doc["properties"].get("networkProfile") or {}).get("networkInterfaces") or []:
            if ref.get("properties", {}).get("deleteOption") == "Delete":
                effects.append({"delete": ref["id"]})
            else:
                effects.append({"merge": ref["id"], "doc": {"properties": {"virtualMachine": None}}})
        return effects

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        doc = ctx.store.get(resource_id)
        if doc is not None:
            doc["_emu"]["power"] = (
                "stopping" if doc["_emu"].get("power") == "running" else doc["_emu"].get("power")
            )
        return super().delete(ctx, resource_id)

    # actions ---------------------------------------------------------------------------------
    def _transition(
        self,
        ctx: Ctx,
        doc: dict,
        verb: str,
        duration: float,
        during: str,
        after: dict,
        result: dict | None = None,
        error: dict | None = None,
    ) -> Answer:
        before = doc["_emu"].get("power")
        doc["_emu"]["power"] = during
        doc["properties"]["provisioningState"] = "Updating"
        final = {"properties": {"provisioningState": "Succeeded"}, "_emu": after}
        op = ctx.ops.start(
            f"VirtualMachines_{verb}",
            doc["id"],
            duration,
            success=[{"merge": doc["id"], "doc": final}],
            # A failed action leaves the VM as it was (Failed until an operation succeeds), as in Azure.
            failure=[
                {
                    "merge": doc["id"],
                    "doc": {"properties": {"provisioningState": "Failed"}, "_emu": {"power": before}},
                }
            ],
            error=error or ctx.injected_error,
            result=result,
            location=doc["location"],
        )
        doc["_emu"]["op"] = op["id"]
        ctx.store.put(doc)
        return Started(op, 202, location=True)

    def _no_change(self, ctx: Ctx, doc: dict, verb: str) -> Answer:
        op = ctx.ops.start(f"VirtualMachines_{verb}", doc["id"], 1.0, location=doc["location"])
        return Started(op, 202, location=True)

    def _check_idle(self, ctx: Ctx, doc: dict, display: str) -> None:
        if op_in_flight(ctx, doc) is not None:
            raise not_allowed(
                f"Operation '{display}' is not allowed on VM '{doc['name']}' since another operation is in progress."
            )
        if doc["properties"].get("provisioningState") == "Deleting":
            raise not_allowed(
                f"Operation '{display}' is not allowed on VM '{doc['name']}' since the VM is marked for deletion. "
                "You can only retry the Delete operation (or wait for an ongoing one to complete)."
            )

    def power_off(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self._check_idle(ctx, doc, "powerOff")
        power = doc["_emu"].get("power")
        if power == "deallocated":
            raise not_allowed(
                f"Operation 'powerOff' is not allowed on VM '{doc['name']}' since the VM is either deallocated or marked to be deallocated."
            )
        if power == "stopped":
            return self._no_change(ctx, doc, "PowerOff")
        return self._transition(ctx, doc, "PowerOff", timing.VM_POWER_OFF, "stopping", {"power": "stopped"})

    def start(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        if doc["_emu"].get("generalized"):
            raise not_allowed(
                f"Operation 'Start VM' is not allowed on VM '{doc['name']}' since the VM is generalized."
            )
        self._check_idle(ctx, doc, "Start VM")
        if doc["_emu"].get("power") == "running":
            return self._no_change(ctx, doc, "Start")
        return self._transition(ctx, doc, "Start", timing.VM_START, "starting", {"power": "running"})

    def restart(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        if doc["_emu"].get("generalized"):
            raise not_allowed(
                f"Operation 'Restart VM' is not allowed on VM '{doc['name']}' since the VM is generalized."
            )
        self._check_idle(ctx, doc, "Restart VM")
        if doc["_emu"].get("power") != "running":
            raise not_allowed("The operation requires the VM to be running (or set to run).")
        return self._transition(ctx, doc, "Restart", timing.VM_RESTART, "starting", {"power": "running"})

    def deallocate(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self._check_idle(ctx, doc, "deallocate")
        if doc["_emu"].get("power") == "deallocated":
            return self._no_change(ctx, doc, "Deallocate")
        return self._transition(
            ctx, doc, "Deallocate", timing.VM_DEALLOCATE, "deallocating", {"power": "deallocated"}
        )

    def generalize(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self._check_idle(ctx, doc, "generalize")
        power = doc["_emu"].get("power")
        if power in ("running", "starting"):
            raise not_allowed(
                f"Operation 'generalize' is not allowed on VM '{doc['name']}' since the VM is running. "
                "Please power off explicitly in case you shut down the VM from inside the guest operating system."
            )
        doc["_emu"]["generalized"] = True
        ctx.store.put(doc)
        ctx.ops.record("VirtualMachines_Generalize", doc["id"])
        return Reply(status=200)

    def run_command(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        command_id = str(body.get("commandId") or "")
        guest.check_command(command_id, doc["_emu"].get("os_type", "Linux"))
        self.check_runnable(ctx, doc, "RunCommand")
        run = guest.run(doc["_emu"]["os_type"], guest.script_text(body))
        after = guest_effects(doc, run)
        error = run.extension_error(doc["_emu"]["os_type"]) if run.failed else None
        op = ctx.ops.start(
            "VirtualMachines_RunCommand",
            doc["id"],
            timing.RUN_COMMAND,
            success=after,
            error=error or ctx.injected_error,
            result={"value": guest.statuses(run)},
            location=doc["location"],
        )
        doc["_emu"]["op"] = op["id"]
        ctx.store.put(doc)
        return Started(op, 202, location=True)

    def check_runnable(self, ctx: Ctx, doc: dict, display: str) -> None:
        self._check_idle(ctx, doc, display)
        if doc["_emu"].get("generalized"):
            raise not_allowed(
                f"Operation '{display}' is not allowed on VM '{doc['name']}' since the VM is generalized."
            )
        if doc["_emu"].get("power") != "running":
            raise not_allowed("The operation requires the VM to be running (or set to run).")


def guest_effects(doc: dict, run: guest.GuestRun) -> list[dict]:
    """What a guest run changes on the VM and its OS disk once it has finished."""
    effects: list[dict] = []
    if run.deprovisioned:
        effects.append({"merge": doc["id"], "doc": {"_emu": {"deprovisioned": True}}})
        disk_id = (doc["properties"]["storageProfile"]["osDisk"].get("managedDisk") or {}).get("id")
        if disk_id:
            effects.append({"merge": disk_id, "doc": {"_emu": {"deprovisioned": True}}})
    if run.shutdown:
        effects.append({"merge": doc["id"], "doc": {"_emu": {"power": "stopped"}}})
    return effects


VIRTUAL_MACHINES = VirtualMachines()
register(VIRTUAL_MACHINES)
