"""Desired records of the VMs imagepipe creates: a source VM (``create:``) or a deployment
instance, made from a marketplace image, a capture's image or version, or restored disks."""

from __future__ import annotations

from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec import security
from imagepipe.spec.model import Deployment
from imagepipe.steps.context import Context, desired_record
from imagepipe.steps.desired.disks import restored_vm_properties
from imagepipe.steps.desired.names import (
    capture_image_id,
    capture_os_type,
    deployment_nic,
    security_properties,
    source_vm_properties,
)
from imagepipe.steps.port import Observer

_SECURITY = ("security_type", "security_profile")


def deployment_vm_properties(ctx: Context, dep: Deployment, index: int) -> dict[str, Any]:
    vm = dep.vm_name(index)
    zones = [dep.zones[index % len(dep.zones)]] if dep.zones else []
    return {
        "size": dep.size,
        "zones": zones,
        "image": capture_image_id(ctx, dep.image),
        **deployment_nic(ctx, dep, vm),
        "admin_username": dep.admin_username,
        "os_type": capture_os_type(ctx, dep.image),
        "ssh_public_key": dep.ssh_public_key,
        "admin_password": dep.admin_password,
        "os_disk": {"name": f"{vm}-osdisk"},
        "data_disks": [],  # from the image, filled in when the request is built
        **security_properties(
            security.deployment_type(ctx.specset.documents, dep), dep.security_type is not None
        ),
    }


def vm_desired(step: Step, ctx: Context, obs: Observer) -> tuple[r.Record, dict[str, Any]]:
    doc = ctx.document(step.document)
    if isinstance(doc, Deployment):
        index = step.index or 0
        if ctx.capture(doc.image).type == "specialized":
            props = restored_vm_properties(ctx, doc, index, obs)
        else:
            props = deployment_vm_properties(ctx, doc, index)
        rg, name, location, extra = doc.resource_group, doc.vm_name(index), doc.location_name, dict(doc.tags)
    else:
        source = ctx.source_vm(step.document)
        props = source_vm_properties(ctx, source)
        rg, name, location, extra = source.resource_group, source.vm_name, source.location_name, {}
    hashed = {
        "location": location,
        **{k: v for k, v in props.items() if (k != "data_disks" or v) and k not in _SECURITY},
    }
    if props.get("security_profile"):  # said in the request: part of what the VM was made from
        hashed["security_profile"] = props["security_profile"]
    desired = desired_record(r.VM, rg, name, location, ctx.tags(step.address, hashed, extra), props)
    return desired, hashed


def with_image_disks(
    desired: r.Record, obs: Observer, managed_image: tuple[str, str] | None = None
) -> r.Record:
    """Data disks of a VM made from a capture: one per data disk of its managed image, named by lun."""
    props = desired["properties"]
    if props.get("attach") or props["data_disks"] or not props["image"].startswith("/"):
        return desired
    if managed_image is None:
        image_id = props["image"]
        if "/galleries/" in image_id.lower() and "/versions/" in image_id.lower():
            # A gallery version has its managed image's disks: name them too, or Azure picks
            # GUID names that a replaced or interrupted VM would leave behind.
            parts = image_id.split("/")
            version = obs.get(r.GALLERY_VERSION, r.resource_group_of(image_id), "/".join(parts[-5::2]))
            image_id = ((version or {}).get("properties") or {}).get("source_id") or ""
        if "/providers/microsoft.compute/virtualmachines/" in image_id.lower():
            # A Trusted Launch capture: the version was made from the VM itself, with its data disks.
            vm = obs.get(r.VM, r.resource_group_of(image_id), image_id.rsplit("/", 1)[-1])
            luns = [d["lun"] for d in (vm or {}).get("properties", {}).get("data_disks") or []]
            return _named_data_disks(desired, luns)
        if "/providers/microsoft.compute/images/" not in image_id.lower():
            return desired
        managed_image = (r.resource_group_of(image_id), image_id.rsplit("/", 1)[-1])
    image = obs.get(r.IMAGE, *managed_image)
    return _named_data_disks(desired, image["properties"]["data_luns"] if image else [])


def _named_data_disks(desired: r.Record, luns: list[int]) -> r.Record:
    disks = [{"lun": lun, "name": f"{desired['name']}-data{lun}", "from_image": True} for lun in luns]
    return {**desired, "properties": {**desired["properties"], "data_disks": disks}}
