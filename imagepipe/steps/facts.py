"""Observed facts several steps decide on: is the capture's image done, are its snapshots,
did the deprovision run, which temporaries are left, which scripts ran."""

from __future__ import annotations

from dataclasses import dataclass

from imagepipe import vocabulary as r
from imagepipe.graph.flow import builds_on_restore_point
from imagepipe.spec.model import Capture, Deployment, SourceVM
from imagepipe.steps.context import TAG_CUSTOMIZED, TAG_HASH, TAG_SPEC, Context
from imagepipe.steps.desired.capture import (
    image_desired,
    restore_point_collection_desired,
    restore_point_disks,
    snapshot_desired,
    snapshot_prefix,
    source_disks,
    version_desired,
)
from imagepipe.steps.desired.disks import disk_name
from imagepipe.steps.desired.names import script_hash
from imagepipe.steps.port import Observer


def captured_output(capture: Capture) -> str:
    """What a generalized capture makes, for reasons: its managed image, else its gallery version."""
    if capture.image is not None:
        return f"image {capture.image.name}"
    assert capture.gallery is not None
    return f"gallery image version {capture.gallery.version}"


def image_done(ctx: Context, capture: Capture, obs: Observer) -> bool:
    """The capture's image (without one, its gallery version: a Trusted Launch source) exists, is
    ours and was made from what the spec says now."""
    if capture.image is None:
        desired = version_desired(ctx, capture)
        observed = obs.get(r.GALLERY_VERSION, desired["resource_group"], desired["name"])
    else:
        desired = image_desired(ctx, capture)
        observed = obs.get(r.IMAGE, desired["resource_group"], desired["name"])
    return (
        observed is not None
        and ctx.owns(observed, desired["tags"][TAG_SPEC])
        and observed["tags"].get(TAG_HASH) == desired["tags"][TAG_HASH]
        and (observed.get("provisioning_state") or "").lower() != "failed"
    )


def source_already_captured(ctx: Context, source_ref: str, obs: Observer) -> bool:
    return any(
        image_done(ctx, c, obs)
        for c in ctx.specset.of_kind("Capture")
        if isinstance(c, Capture)
        and c.source == source_ref
        and c.type == "generalized"
        and (c.image or c.gallery)
    )


def snapshots_done(ctx: Context, capture: Capture, obs: Observer) -> bool:
    address = f"{capture.ref}/{'snapshot-source-disks' if capture.type == 'generalized' else 'snapshots'}"
    for desired in snapshot_desired(ctx, capture, obs, address):
        seen = obs.get(r.SNAPSHOT, desired["resource_group"], desired["name"])
        if (
            seen is None
            or not ctx.owns(seen, desired["tags"][TAG_SPEC])
            or seen["tags"].get(TAG_HASH) != desired["tags"][TAG_HASH]
        ):
            return False
        if (seen.get("provisioning_state") or "").lower() != "succeeded":
            return False
    return True


def deprovision_verified(run_command: r.Record | None) -> bool:
    if run_command is None:
        return False
    props = run_command["properties"]
    return props.get("execution_state") == "Succeeded" and props.get("exit_code") in (0, None)


def ran_hashes(vm: r.Record | None) -> list[str]:
    """The hashes of the customize scripts that ran on a VM, in order (its tag)."""
    value = ((vm or {}).get("tags") or {}).get(TAG_CUSTOMIZED) or ""
    return [h for h in value.split(",") if h]


def scripts_outdated_on_generalized(source: SourceVM, obs: Observer) -> bool:
    """A created source VM generalized in place whose customize scripts changed since they ran:
    scripts never run on a generalized VM again, so only a rebuilt VM can take the change."""
    if source.create is None or not source.create.customize:
        return False
    vm = obs.get(r.VM, source.resource_group, source.vm_name)
    if vm is None:
        return False
    wanted = [script_hash(s.script) for s in source.create.customize]
    if ran_hashes(vm) == wanted:
        return False
    return (obs.vm(source.resource_group, source.vm_name) or {}).get("os_state") == "generalized"


def source_subnet(ctx: Context, source: SourceVM, obs: Observer) -> str | None:
    """The subnet of a source VM: from its spec, else from its observed NIC."""
    if source.create is not None:
        return ctx.subnet_id(source.resource_group, source.create.subnet.vnet, source.create.subnet.name)
    vm = obs.get(r.VM, source.resource_group, source.vm_name)
    nic_id = next(iter((vm or {}).get("properties", {}).get("nic_ids") or []), None)
    if not nic_id:
        return None
    nic = obs.get(r.NIC, r.resource_group_of(nic_id), nic_id.rsplit("/", 1)[-1])
    return (nic or {}).get("properties", {}).get("subnet_id")


def temporaries(ctx: Context, capture: Capture, obs: Observer) -> list[r.Record]:
    """Every temporary of a preserved-source capture that exists and is ours, in deletion order:
    the VM, its NIC and disks, then what they were made from (snapshots, or the restore point
    collection with its restore point)."""
    assert capture.snapshots is not None
    rg = capture.snapshots.resource_group
    name = f"{capture.name}-tmp"
    on_point = builds_on_restore_point(capture)
    disks = restore_point_disks(ctx, capture, obs) if on_point else source_disks(ctx, capture, obs)
    suffixes = [suffix for suffix, _ in disks]
    wanted = [(r.VM, name), (r.NIC, f"{name}-nic")]
    wanted += [(r.DISK, disk_name(name, s)) for s in suffixes]
    if on_point:
        wanted.append((r.RESTORE_POINT_COLLECTION, restore_point_collection_desired(ctx, capture)["name"]))
    else:
        wanted += [(r.SNAPSHOT, f"{snapshot_prefix(capture)}-{s}") for s in suffixes]
    found = [obs.get(type_, rg, n) for type_, n in wanted]
    return [rec for rec in found if rec is not None and ctx.owns(rec, f"{capture.ref}/")]


@dataclass(frozen=True)
class Retention:
    delete: tuple[r.Record, ...]  # owned versions past the newest N that nothing uses
    in_use: dict[str, list[str]]  # version -> what uses it ("VM rg/name", "scale set rg/name")
    foreign: tuple[str, ...]  # versions past the newest N that another stack or a person made


def version_number(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def version_of(rec: r.Record) -> str:
    return rec["name"].rsplit("/", 1)[-1]


def _moving_with_the_capture(ctx: Context, capture: Capture, rec: r.Record) -> bool:
    """A VM or scale set this stack deploys from the capture: on the desired version after apply."""
    address = rec["tags"].get(TAG_SPEC, "")
    if not ctx.owns(rec) or address not in ctx.graph:
        return False
    doc = ctx.specset.documents.get(ctx.graph.step(address).document)
    return isinstance(doc, Deployment) and doc.image == capture.ref


def definition_versions(capture: Capture, obs: Observer) -> list[r.Record]:
    """Every version of the capture's image definition, whoever made it."""
    gallery = capture.gallery
    assert gallery is not None
    prefix = f"{gallery.name}/{gallery.definition.name}/".lower()
    return [
        rec
        for rec in obs.gallery_children(gallery.resource_group, gallery.name)
        if rec["type"].lower() == r.GALLERY_VERSION.lower() and rec["name"].lower().startswith(prefix)
    ]


def retention(ctx: Context, capture: Capture, obs: Observer) -> Retention:
    """``gallery.retain: N``: which older versions go, which stay and what uses them."""
    gallery = capture.gallery
    assert gallery is not None and gallery.retain is not None
    versions = definition_versions(capture, obs)
    numbers = sorted({version_of(v) for v in versions} | {gallery.version}, key=version_number, reverse=True)
    kept = set(numbers[: gallery.retain]) | {gallery.version}
    older = [v for v in versions if version_of(v) not in kept]
    users: dict[str, list[str]] = {}
    if older:
        ids = {v["id"].lower(): version_of(v) for v in older}
        for type_, noun in ((r.VM, "VM"), (r.VMSS, "scale set")):
            for rec in obs.list_all(type_):
                version = ids.get((rec["properties"].get("image") or "").lower())
                if version is not None and not _moving_with_the_capture(ctx, capture, rec):
                    users.setdefault(version, []).append(f"{noun} {rec['resource_group']}/{rec['name']}")
    mine = [v for v in older if ctx.owns(v)]
    return Retention(
        delete=tuple(
            sorted(
                (v for v in mine if version_of(v) not in users), key=lambda v: version_number(version_of(v))
            )
        ),
        in_use={k: sorted(v) for k, v in sorted(users.items())},
        foreign=tuple(sorted((version_of(v) for v in older if not ctx.owns(v)), key=version_number)),
    )
