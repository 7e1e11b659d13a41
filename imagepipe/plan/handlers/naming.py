"""Desired records of the VMs and NICs imagepipe creates, from the documents.

Names follow docs/internals.md ("Names and tags"); what a VM is made from (a
marketplace image, a capture's output) is resolved here, once for sources and
deployments alike.
"""

from __future__ import annotations

from typing import Any

from imagepipe.azure import records as r
from imagepipe.graph.step import Step
from imagepipe.plan.context import Context, desired_record
from imagepipe.plan.model import digest
from imagepipe.plan.observe import Observer
from imagepipe.spec.model import Capture, Deployment, SourceVHD, SourceVM


def script_hash(script: str) -> str:
    return digest({"script": script})


def resolve_marketplace(image: str) -> str:
    from imagepipe.spec.images import resolve_alias

    return resolve_alias(image) or image


def capture_image_id(ctx: Context, capture_ref: str) -> str:
    """The resource a deployment (or a source built on a capture) is created from."""
    capture: Any = ctx.document(capture_ref)
    gallery = capture.gallery
    if gallery is not None:
        return ctx.resource_id(
            r.GALLERY,
            gallery.resource_group,
            f"{gallery.name}/images/{gallery.definition.name}/versions/{gallery.version}",
        )
    image = capture.image
    return ctx.resource_id(r.IMAGE, image.resource_group, image.name)


def managed_image_of(ctx: Context, capture_ref: str) -> tuple[str, str] | None:
    capture: Any = ctx.document(capture_ref)
    return (capture.image.resource_group, capture.image.name) if capture.image is not None else None


def capture_os_type(ctx: Context, capture_ref: str) -> str:
    capture: Any = ctx.document(capture_ref)
    source: Any = ctx.document(capture.source)
    return source.os_type


def subnet_id_of(ctx: Context, rg: str, subnet: Any, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    return ctx.subnet_id(rg, subnet.vnet, subnet.name)


def nic_target(step: Step, ctx: Context) -> tuple[str, str, str, str, dict[str, str]]:
    """(resource group, name, location, subnet id, extra tags) of a source VM's NIC step."""
    doc: Any = ctx.document(step.document)
    assert isinstance(doc, SourceVM) and doc.create is not None
    return (
        doc.resource_group,
        f"{doc.vm_name}-nic",
        doc.location_name,
        subnet_id_of(ctx, doc.resource_group, doc.create.subnet),
        {},
    )


def source_vm_properties(ctx: Context, source: SourceVM) -> dict[str, Any]:
    create = source.create
    assert create is not None
    vm = source.vm_name
    image = create.image
    image = capture_image_id(ctx, image) if image.startswith("Capture/") else resolve_marketplace(image)
    return {
        "size": create.size,
        "zones": [],
        "image": image,
        "nic_ids": [ctx.resource_id(r.NIC, source.resource_group, f"{vm}-nic")],
        "admin_username": create.admin_username,
        "os_type": source.os_type,
        "ssh_public_key": create.ssh_public_key,
        "admin_password": create.admin_password,
        "os_disk": {"name": f"{vm}-osdisk"},
        "data_disks": [
            {"lun": lun, "name": f"{vm}-data{lun}", "size_gb": disk.size_gb}
            for lun, disk in enumerate(create.data_disks)
        ],
    }


def deployment_nic(ctx: Context, dep: Deployment, vm: str) -> dict[str, Any]:
    """The NIC a deployment VM creates itself (no step of its own: one write per VM)."""
    return {
        "nic_ids": [ctx.resource_id(r.NIC, dep.resource_group, f"{vm}-nic")],
        "nic": {
            "name": f"{vm}-nic",
            "subnet_id": subnet_id_of(ctx, dep.resource_group, dep.subnet, dep.subnet_id),
            "tags": dict(dep.tags),
        },
    }


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
    }


def vm_desired(step: Step, ctx: Context, obs: Observer) -> tuple[r.Record, dict[str, Any]]:
    doc: Any = ctx.document(step.document)
    if isinstance(doc, Deployment):
        index = step.index or 0
        capture: Any = ctx.document(doc.image)
        if capture.type == "specialized":
            from imagepipe.plan.handlers.disks import restored_vm_properties

            props = restored_vm_properties(ctx, doc, index, obs)
        else:
            props = deployment_vm_properties(ctx, doc, index)
        rg, name, location, extra = doc.resource_group, doc.vm_name(index), doc.location_name, dict(doc.tags)
    else:
        props = source_vm_properties(ctx, doc)
        rg, name, location, extra = doc.resource_group, doc.vm_name, doc.location_name, {}
    hashed = {"location": location, **{k: v for k, v in props.items() if k != "data_disks" or v}}
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
        if "/providers/microsoft.compute/images/" not in image_id.lower():
            return desired
        managed_image = (r.resource_group_of(image_id), image_id.rsplit("/", 1)[-1])
    image = obs.get(r.IMAGE, *managed_image)
    luns = image["properties"]["data_luns"] if image else []
    disks = [{"lun": lun, "name": f"{desired['name']}-data{lun}", "from_image": True} for lun in luns]
    return {**desired, "properties": {**props, "data_disks": disks}}


def source_fingerprint(ctx: Context, source_ref: str) -> dict[str, Any]:
    """What a capture is made from, as it goes into the capture's hash."""
    source: Any = ctx.document(source_ref)
    if isinstance(source, SourceVHD):
        return {"vhd": [source.os_disk_uri, *source.data_disk_uris], "os_state": source.os_state}
    if source.existing:
        return {"existing": ctx.resource_id(r.VM, source.resource_group, source.vm_name)}
    props = source_vm_properties(ctx, source)
    return {
        "vm": digest({"location": source.location_name, **props}),
        "customize": [script_hash(s.script) for s in source.create.customize],
    }


def capture_hashed(ctx: Context, capture: Capture) -> dict[str, Any]:
    return {
        "source": source_fingerprint(ctx, capture.source),
        "type": capture.type,
        "preserve_source": capture.preserve_source,
    }
