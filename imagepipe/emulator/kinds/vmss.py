"""Virtual machine scale sets: instances from an image, capacity changes, the instance list."""

from __future__ import annotations

import copy
import uuid

from imagepipe.emulator import ids, imagesource, security, timing
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.defaults import fill_os_profile, fill_scale_set
from imagepipe.emulator.errors import ArmError, invalid, property_change
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.kinds.network import find_subnet, invalid_reference
from imagepipe.emulator.kinds.vm import op_in_flight
from imagepipe.emulator.operations import iso
from imagepipe.emulator.osprofile import check_credentials, same_reference, scrub_os_profile
from imagepipe.emulator.replies import Answer, Started
from imagepipe.emulator.types import VMSS, VMSS_VM


def _capacity(body: dict, default: int) -> int:
    capacity = (body.get("sku") or {}).get("capacity", default)
    try:
        value = int(capacity)
    except (TypeError, ValueError):
        raise invalid("The value of parameter sku.capacity is invalid.", "sku.capacity") from None
    if not 0 <= value <= 1000:
        raise invalid("The value of parameter sku.capacity must be between 0 and 1000.", "sku.capacity")
    return value


class VirtualMachineScaleSets(Kind):
    type_name = VMSS
    group = "VirtualMachineScaleSets"
    update_duration = timing.VM_UPDATE
    delete_duration = timing.VM_DELETE

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        props = copy.deepcopy(body.get("properties") or {})
        profile = props.get("virtualMachineProfile") or {}
        reference = (profile.get("storageProfile") or {}).get("imageReference")
        if not reference:
            raise invalid(
                "Required parameter 'virtualMachineProfile.storageProfile.imageReference' is missing (null).",
                "imageReference",
            )
        source = imagesource.resolve(ctx, reference, doc["location"], doc["id"])
        if source.os_state == "Generalized":
            check_credentials(source.os_type, profile.get("osProfile") or {})
        self._check_network(ctx, doc, profile)
        secured = security.security_profile(
            profile.get("securityProfile"),
            capability_of_source=source.capability,
            hyper_v=source.hyper_v_generation,
            architecture=source.architecture,
            size=(body.get("sku") or {}).get("name") or "Standard_DS1_v2",
            api_version=ctx.api_version,
            what=source.describe,
        )
        if secured is None:
            profile.pop("securityProfile", None)
        else:
            profile["securityProfile"] = secured
        if profile.get("osProfile"):
            had_password = bool(profile["osProfile"].get("adminPassword"))
            profile["osProfile"] = fill_os_profile(
                scrub_os_profile(profile["osProfile"]), source.os_type, had_password=had_password
            )
            profile["osProfile"].setdefault("computerNamePrefix", doc["name"][:9])
        profile["storageProfile"]["imageReference"] = source.reference
        profile["storageProfile"].setdefault("osDisk", {"createOption": "FromImage"})
        profile["storageProfile"]["osDisk"].setdefault("osType", source.os_type)
        props["virtualMachineProfile"] = profile
        props.setdefault("upgradePolicy", {"mode": "Manual"})
        props.setdefault("orchestrationMode", "Uniform")
        props.setdefault("overprovision", True)
        fill_scale_set(props)
        props["uniqueId"] = str(uuid.uuid4())
        props["timeCreated"] = iso(ctx.clock.now())
        doc["properties"] = props
        capacity = _capacity(body, 2)
        doc["sku"] = {
            "name": (body.get("sku") or {}).get("name", "Standard_DS1_v2"),
            "tier": "Standard",
            "capacity": capacity,
        }
        doc["_emu"].update(os_type=source.os_type, next_instance=0, instances=[])
        error = source.failure
        if error is None and source.os_state == "Generalized" and not source.deprovisioned:
            error = {
                "code": "OSProvisioningTimedOut",
                "message": f"OS Provisioning for the instances of scale set '{doc['name']}' did not finish in the allotted "
                "time. Make sure the image has been properly prepared (generalized).",
            }
        return self._resize(ctx, doc, capacity, created=True, error=error, image_key=source.image_key)

    def _check_network(self, ctx: Ctx, doc: dict, profile: dict) -> None:
        configs = (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []
        if not configs:
            raise invalid(
                "Required parameter 'networkProfile.networkInterfaceConfigurations' is missing (null).",
                "networkProfile",
            )
        for config in configs:
            for ip in (config.get("properties") or {}).get("ipConfigurations") or []:
                subnet_id = ((ip.get("properties") or {}).get("subnet") or {}).get("id") or ""
                if find_subnet(ctx, subnet_id) is None:
                    raise invalid_reference(subnet_id, doc["id"])

    def _resize(
        self,
        ctx: Ctx,
        doc: dict,
        capacity: int,
        *,
        created: bool,
        error: dict | None = None,
        image_key: str | None = None,
    ) -> Answer:
        instances = [i for i in doc["_emu"]["instances"]][:capacity]
        added = 0
        while len(instances) < capacity:
            instances.append({"id": doc["_emu"]["next_instance"], "state": "Creating"})
            doc["_emu"]["next_instance"] += 1
            added += 1
        doc["_emu"]["instances"] = instances
        doc["sku"]["capacity"] = capacity
        final_state = "Failed" if (error or ctx.injected_error) else "Succeeded"
        final = [{**i, "state": final_state if i["state"] == "Creating" else i["state"]} for i in instances]
        duration = timing.scale_set(added) if added else self.update_duration
        return self.start_provisioning(
            ctx,
            doc,
            duration,
            created=created,
            error=error,
            success=[{"merge": doc["id"], "doc": {"_emu": {"instances": final}}}],
            failure=[{"merge": doc["id"], "doc": {"_emu": {"instances": final}}}],
            image_key=image_key,
        )

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        profile = (body.get("properties") or {}).get("virtualMachineProfile") or {}
        reference = (profile.get("storageProfile") or {}).get("imageReference")
        stored = doc["properties"]["virtualMachineProfile"]["storageProfile"].get("imageReference") or {}
        if reference and not same_reference(reference, stored):
            # A new image is a model change Azure accepts; instances pick it up on reimage.
            source = imagesource.resolve(ctx, reference, doc["location"], doc["id"])
            stored = source.reference
        new = copy.deepcopy(doc)
        new["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"] = stored
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        if (body.get("sku") or {}).get("name") and body["sku"]["name"] != new["sku"]["name"]:
            raise property_change("sku.name")
        running = op_in_flight(ctx, doc)
        capacity = _capacity(body, new["sku"]["capacity"])
        if running is not None and capacity == doc["sku"]["capacity"]:
            ctx.store.put(new)
            return Started(running, 200, self.render(ctx, new))
        return self._resize(ctx, new, capacity, created=False)

    def sub_get(self, ctx: Ctx, doc: dict, segment: str) -> dict:
        if segment.lower() == "virtualmachines":
            return {"value": [instance_doc(doc, i) for i in doc["_emu"]["instances"]]}
        if segment.lower() == "instanceview":
            states = [i["state"] for i in doc["_emu"]["instances"]]
            return {
                "virtualMachine": {
                    "statusesSummary": [
                        {"code": f"ProvisioningState/{s.lower()}", "count": states.count(s)}
                        for s in sorted(set(states))
                    ]
                },
                "statuses": [
                    {
                        "code": f"ProvisioningState/{doc['properties']['provisioningState'].lower()}",
                        "level": "Info",
                        "displayStatus": f"Provisioning {doc['properties']['provisioningState'].lower()}",
                        "time": _last_change(ctx, doc),
                    }
                ],
            }
        return super().sub_get(ctx, doc, segment)


def _last_change(ctx: Ctx, doc: dict) -> str:
    """When the scale set's last operation ended (or will): its status time."""
    op = ctx.store.operations.get(doc["_emu"].get("op") or "")
    return iso(op["end"] if op else ctx.clock.now())


def instance_doc(vmss: dict, instance: dict) -> dict:
    prefix = (vmss["properties"]["virtualMachineProfile"].get("osProfile") or {}).get(
        "computerNamePrefix", vmss["name"]
    )
    return {
        "id": f"{vmss['id']}/virtualMachines/{instance['id']}",
        "name": f"{vmss['name']}_{instance['id']}",
        "type": VMSS_VM,
        "instanceId": str(instance["id"]),
        "location": vmss["location"],
        "tags": vmss.get("tags", {}),
        "sku": {"name": vmss["sku"]["name"], "tier": "Standard"},
        "properties": {
            "latestModelApplied": True,
            "provisioningState": instance["state"],
            "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vmss['id']}/{instance['id']}")),
            "osProfile": {"computerName": f"{prefix}{instance['id']:06X}"},
            "hardwareProfile": {},
        },
    }


class ScaleSetVMs(Kind):
    """Instances are part of their scale set's document, not stored on their own."""

    type_name = VMSS_VM
    group = "VirtualMachineScaleSetVMs"

    def get(self, ctx: Ctx, resource_id: str) -> dict:
        vmss = ctx.store.get(ids.parent_of(resource_id))
        name = ids.name_of(resource_id)
        if vmss is not None:
            for instance in vmss["_emu"]["instances"]:
                if str(instance["id"]) == name:
                    return instance_doc(vmss, instance)
        raise ArmError(404, "NotFound", f"The entity was not found in this Azure location: {resource_id}.")

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        raise ArmError(
            405, "MethodNotAllowed", "Scale set instances are created by changing the scale set's capacity."
        )

    def render(self, ctx: Ctx, doc: dict) -> dict:
        return public(doc)

    def list_under(self, ctx: Ctx, parent: dict) -> list[dict]:
        return [instance_doc(parent, i) for i in parent["_emu"]["instances"]]


register(VirtualMachineScaleSets())
register(ScaleSetVMs())
