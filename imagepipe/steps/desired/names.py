"""Names and ids of what VMs are made from, and the hashes of sources and captures.

Names follow docs/internals.md ("Names and tags"); what a VM is made from (a
marketplace image, a capture's output) is resolved here, once for sources and
deployments alike.
"""

from __future__ import annotations

from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec import security
from imagepipe.spec.images import resolve_alias
from imagepipe.spec.model import Capture, Deployment, SourceVHD, SourceVM, Subnet
from imagepipe.steps.change import digest
from imagepipe.steps.context import Context


def script_hash(script: str) -> str:
    return digest({"script": script})


def resolve_marketplace(image: str) -> str:
    return resolve_alias(image) or image


def capture_image_id(ctx: Context, capture_ref: str) -> str:
    """The resource a deployment (or a source built on a capture) is created from."""
    capture = ctx.capture(capture_ref)
    gallery = capture.gallery
    if gallery is not None:
        return ctx.resource_id(
            r.GALLERY,
            gallery.resource_group,
            f"{gallery.name}/images/{gallery.definition.name}/versions/{gallery.version}",
        )
    image = capture.image
    assert image is not None
    return ctx.resource_id(r.IMAGE, image.resource_group, image.name)


def capture_os_type(ctx: Context, capture_ref: str) -> str:
    return ctx.source(ctx.capture(capture_ref).source).os_type


def subnet_id_of(ctx: Context, rg: str, subnet: Subnet | None, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    assert subnet is not None
    return ctx.subnet_id(rg, subnet.vnet, subnet.name)


def nic_target(step: Step, ctx: Context) -> tuple[str, str, str, str, dict[str, str]]:
    """(resource group, name, location, subnet id, extra tags) of a source VM's NIC step."""
    doc = ctx.source_vm(step.document)
    assert doc.create is not None
    return (
        doc.resource_group,
        f"{doc.vm_name}-nic",
        doc.location_name,
        subnet_id_of(ctx, doc.resource_group, doc.create.subnet),
        {},
    )


def security_properties(kind: str | None, explicit: bool) -> dict[str, Any]:
    """`security_type`: what the VM will be (None: unknown until Azure decides), for the plan;
    `security_profile`: what the request says (Trusted Launch always, Standard when the spec asks)."""
    return {"security_type": kind, "security_profile": kind if kind == "TrustedLaunch" or explicit else None}


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
        **security_properties(
            security.source_type(ctx.specset.documents, source), create.security_type is not None
        ),
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


def source_fingerprint(ctx: Context, source_ref: str) -> dict[str, Any]:
    """What a capture is made from, as it goes into the capture's hash."""
    source = ctx.source(source_ref)
    if isinstance(source, SourceVHD):
        return {"vhd": [source.os_disk_uri, *source.data_disk_uris], "os_state": source.os_state}
    if source.existing:
        return {"existing": ctx.resource_id(r.VM, source.resource_group, source.vm_name)}
    assert source.create is not None
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
