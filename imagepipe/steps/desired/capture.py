"""Desired records of what a capture makes: its image, its snapshots, its gallery version,
and which VM a generalized capture works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagepipe import vocabulary as r
from imagepipe.spec.images import marketplace_generation
from imagepipe.spec.model import Capture, SourceVHD, SourceVM
from imagepipe.steps.context import Context, desired_record
from imagepipe.steps.desired.names import capture_hashed
from imagepipe.steps.port import Observer

DEPROVISION_RUN_COMMAND = "imagepipe-deprovision"
LINUX_DEPROVISION = "waagent -deprovision+user -force"
WINDOWS_DEPROVISION = r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet /mode:vm"


def deprovision_script(os_type: str) -> str:
    return WINDOWS_DEPROVISION if os_type == "Windows" else LINUX_DEPROVISION


@dataclass(frozen=True)
class VmToGeneralize:
    resource_group: str
    name: str
    os_type: str
    owner: str | None  # the imagepipe-spec tag it must carry; None for an existing source


def vm_to_generalize(ctx: Context, capture: Capture) -> VmToGeneralize:
    """The source itself (preserveSource: false), or the temporary VM built from its snapshots."""
    source = ctx.source_vm(capture.source)
    if capture.preserve_source and capture.snapshots is not None:
        return VmToGeneralize(
            capture.snapshots.resource_group, f"{capture.name}-tmp", source.os_type, f"{capture.ref}/temp-vm"
        )
    return VmToGeneralize(
        source.resource_group, source.vm_name, source.os_type, None if source.existing else f"{source.ref}/vm"
    )


def image_desired(ctx: Context, capture: Capture) -> r.Record:
    source = ctx.source(capture.source)
    image = capture.image
    assert image is not None
    hashed = capture_hashed(ctx, capture)
    if isinstance(source, SourceVHD):
        props: dict[str, Any] = {
            "os_uri": source.os_disk_uri,
            "data_uris": list(source.data_disk_uris),
            "os_type": source.os_type,
            "os_state": source.os_state,
        }
    else:
        vm = vm_to_generalize(ctx, capture)
        props = {"source_vm_id": ctx.resource_id(r.VM, vm.resource_group, vm.name)}
    address = f"{capture.ref}/image"
    return desired_record(
        r.IMAGE,
        image.resource_group,
        image.name,
        source.location_name,
        ctx.tags(address, {"location": source.location_name, **hashed}),
        props,
    )


def snapshot_prefix(capture: Capture) -> str:
    return f"{capture.name}-src" if capture.type == "generalized" else capture.name


def source_disks(ctx: Context, capture: Capture, obs: Observer) -> list[tuple[str, str | None]]:
    """(suffix, disk id) of every disk of the source: ``os`` then ``data<lun>``."""
    source = ctx.source(capture.source)
    if isinstance(source, SourceVHD):
        return [("os", source.os_disk_uri)] + [
            (f"data{i}", uri) for i, uri in enumerate(source.data_disk_uris)
        ]
    vm = obs.vm(source.resource_group, source.vm_name)
    if vm is not None:
        props = vm["properties"]
        disks = [("os", props["os_disk"].get("id"))]
        disks += [
            (f"data{d['lun']}", d.get("id")) for d in sorted(props["data_disks"], key=lambda d: d["lun"])
        ]
        return disks
    luns = range(len(source.create.data_disks)) if source.create else []
    return [("os", None)] + [(f"data{lun}", None) for lun in luns]


# quiesce: restorePoint: the restore point collection on the source VM and its one restore point,
# whose disk restore points are the capture (specialized) or its temporary VM's disks (generalized).
RESTORE_POINT_CONSISTENCY = "ApplicationConsistent"


def restore_point_collection_desired(ctx: Context, capture: Capture) -> r.Record:
    source = ctx.source_vm(capture.source)
    assert capture.snapshots is not None
    return desired_record(
        r.RESTORE_POINT_COLLECTION,
        capture.snapshots.resource_group,
        f"{capture.name}-rpc",
        source.location_name,
        ctx.tags(f"{capture.ref}/restore-point", capture_hashed(ctx, capture)),
        {"source_id": ctx.resource_id(r.VM, source.resource_group, source.vm_name)},
    )


def restore_point_desired(ctx: Context, capture: Capture) -> r.Record:
    collection = restore_point_collection_desired(ctx, capture)
    return desired_record(
        r.RESTORE_POINT,
        collection["resource_group"],
        f"{collection['name']}/{capture.name}-rp",
        collection["location"],
        {},
        {"consistency_mode": RESTORE_POINT_CONSISTENCY},
    )


def restore_point_id(ctx: Context, capture: Capture) -> str:
    collection = restore_point_collection_desired(ctx, capture)
    point = restore_point_desired(ctx, capture)["name"].split("/")[-1]
    collection_id = ctx.resource_id(
        r.RESTORE_POINT_COLLECTION, collection["resource_group"], collection["name"]
    )
    return f"{collection_id}/restorePoints/{point}"


def restore_point_disks(ctx: Context, capture: Capture, obs: Observer) -> list[tuple[str, str | None]]:
    """(suffix, disk restore point id) of every disk the capture's restore point holds, ``os`` then
    ``data<lun>``; before it has succeeded, the source's disks without an id."""
    wanted = restore_point_desired(ctx, capture)
    point = obs.get(r.RESTORE_POINT, wanted["resource_group"], wanted["name"])
    if point is not None and point.get("provisioning_state") == "Succeeded" and point["properties"]["disks"]:
        return list(point["properties"]["disks"].items())
    return [(suffix, None) for suffix, _ in source_disks(ctx, capture, obs)]


def snapshot_desired(ctx: Context, capture: Capture, obs: Observer, address: str) -> list[r.Record]:
    source = ctx.source(capture.source)
    target = capture.snapshots
    assert target is not None
    hashed_base = capture_hashed(ctx, capture)
    out = []
    for suffix, disk_id in source_disks(ctx, capture, obs):
        props: dict[str, Any] = {"source_id": disk_id, "incremental": target.incremental}
        if suffix == "os" and isinstance(source, SourceVHD):
            props["os_type"] = source.os_type
        hashed = {
            **hashed_base,
            "disk": suffix,
            "incremental": target.incremental,
            "location": source.location_name,
        }
        out.append(
            desired_record(
                r.SNAPSHOT,
                target.resource_group,
                f"{snapshot_prefix(capture)}-{suffix}",
                source.location_name,
                ctx.tags(address, hashed),
                props,
            )
        )
    return out


def version_desired(ctx: Context, capture: Capture) -> r.Record:
    gallery, source = capture.gallery, ctx.source(capture.source)
    image = capture.image
    assert gallery is not None
    regions = {t.name.replace(" ", "").lower(): t.replicas for t in gallery.target_regions}
    if image is not None:
        source_id = ctx.resource_id(r.IMAGE, image.resource_group, image.name)
    else:  # a Trusted Launch source: the version is captured from the generalized VM itself
        vm = vm_to_generalize(ctx, capture)
        source_id = ctx.resource_id(r.VM, vm.resource_group, vm.name)
    props = {"source_id": source_id, "regions": regions}
    hashed = {**capture_hashed(ctx, capture), "regions": regions, "location": source.location_name}
    name = f"{gallery.name}/{gallery.definition.name}/{gallery.version}"
    return desired_record(
        r.GALLERY_VERSION,
        gallery.resource_group,
        name,
        source.location_name,
        ctx.tags(f"{capture.ref}/gallery-version", hashed),
        props,
    )


def hyper_v_generation(source: SourceVM | SourceVHD, obs: Observer) -> str:
    """The source's VM generation: observed when the source exists, else from its marketplace image."""
    if isinstance(source, SourceVM) and source.vm_name:
        vm = obs.vm(source.resource_group, source.vm_name)
        if vm is not None and vm.get("hyper_v_generation"):
            return vm["hyper_v_generation"]
    image = (source.create.image if isinstance(source, SourceVM) and source.create else "") or ""
    return marketplace_generation(image) if image and not image.startswith("Capture/") else "V1"
