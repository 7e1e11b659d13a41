"""Wire (ARM JSON of the SDK models) -> neutral records the engine compares.

A record is a plain dict: ``type``, ``id``, ``name``, ``resource_group``,
``location``, ``tags``, ``provisioning_state``, optional ``power_state``,
``os_state`` and ``error``, and ``properties``: only what the engine compares.
Nothing outside ``imagepipe/azure`` ever sees an SDK model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imagepipe.azure.errors import is_retryable
from imagepipe.vocabulary import (
    DISK,
    GALLERY,
    GALLERY_IMAGE,
    GALLERY_VERSION,
    IMAGE,
    NIC,
    RESOURCE_GROUP,
    RESTORE_POINT,
    RESTORE_POINT_COLLECTION,
    RUN_COMMAND,
    SNAPSHOT,
    VM,
    VMSS,
    VNET,
    Record,
    resource_group_of,
)
from imagepipe.vocabulary import key as key  # re-exported: the wire side keys records too


def wire(model: Any) -> dict[str, Any]:
    """The ARM JSON of an SDK model (they are mappings over their wire form)."""
    if model is None:
        return {}
    if hasattr(model, "as_dict"):
        return model.as_dict()
    return dict(model)


def _base(type_: str, body: Mapping[str, Any]) -> Record:
    props = body.get("properties") or {}
    rid = body.get("id") or ""
    return {
        "type": type_,
        "id": rid,
        "name": body.get("name") or rid.rsplit("/", 1)[-1],
        "resource_group": resource_group_of(rid),
        "location": (body.get("location") or "").replace(" ", "").lower(),
        "tags": dict(body.get("tags") or {}),
        "provisioning_state": props.get("provisioningState"),
        "properties": {},
    }


def resource_group(body: Mapping[str, Any]) -> Record:
    rec = _base(RESOURCE_GROUP, body)
    rec["resource_group"] = rec["name"]
    return rec


def vnet(body: Mapping[str, Any]) -> Record:
    rec = _base(VNET, body)
    props = body.get("properties") or {}
    subnets = {}
    for subnet in props.get("subnets") or []:
        sprops = subnet.get("properties") or {}
        prefix = sprops.get("addressPrefix") or next(iter(sprops.get("addressPrefixes") or []), None)
        subnets[subnet.get("name")] = prefix
    rec["properties"] = {
        "address_prefixes": list((props.get("addressSpace") or {}).get("addressPrefixes") or []),
        "subnets": subnets,
    }
    return rec


def nic(body: Mapping[str, Any]) -> Record:
    rec = _base(NIC, body)
    props = body.get("properties") or {}
    configs = props.get("ipConfigurations") or []
    subnet_id = ((configs[0].get("properties") or {}).get("subnet") or {}).get("id") if configs else None
    rec["properties"] = {
        "subnet_id": subnet_id,
        "vm_id": (props.get("virtualMachine") or {}).get("id"),
    }
    return rec


def private_ips(body: Mapping[str, Any]) -> list[str]:
    """A network interface's private IP addresses, in the order of its IP configurations."""
    configs = (body.get("properties") or {}).get("ipConfigurations") or []
    addresses = [(c.get("properties") or {}).get("privateIPAddress") for c in configs]
    return [address for address in addresses if address]


def image_reference(ref: Mapping[str, Any] | None) -> str | None:
    if not ref:
        return None
    if ref.get("id"):
        return ref["id"]
    if ref.get("publisher"):
        return ":".join(str(ref.get(k) or "") for k in ("publisher", "offer", "sku", "version"))
    return None


def _statuses(instance_view: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list((instance_view or {}).get("statuses") or [])


def _configured_subnets(network_profile: Mapping[str, Any]) -> list[str]:
    """The subnets of the NICs a VM created itself (networkInterfaceConfigurations)."""
    return [
        ((ip.get("properties") or {}).get("subnet") or {}).get("id") or ""
        for config in network_profile.get("networkInterfaceConfigurations") or []
        for ip in ((config.get("properties") or {}).get("ipConfigurations") or [])[:1]
    ]


def _security_type(props: Mapping[str, Any]) -> str:
    """A VM's security type; older API versions leave a Standard VM without one."""
    return ((props.get("securityProfile") or {}).get("securityType")) or "Standard"


def vm(body: Mapping[str, Any]) -> Record:
    rec = _base(VM, body)
    props = body.get("properties") or {}
    storage = props.get("storageProfile") or {}
    os_disk = storage.get("osDisk") or {}
    rec["properties"] = {
        "size": (props.get("hardwareProfile") or {}).get("vmSize"),
        "zones": list(body.get("zones") or []),
        "image": image_reference(storage.get("imageReference")),
        "nic_ids": [n.get("id") for n in (props.get("networkProfile") or {}).get("networkInterfaces") or []],
        "nic_subnet_ids": _configured_subnets(props.get("networkProfile") or {}),
        "admin_username": (props.get("osProfile") or {}).get("adminUsername"),
        "os_type": os_disk.get("osType"),
        "security_type": _security_type(props),
        "os_disk": {"name": os_disk.get("name"), "id": (os_disk.get("managedDisk") or {}).get("id")},
        "data_disks": [
            {
                "lun": d.get("lun"),
                "name": d.get("name"),
                "id": (d.get("managedDisk") or {}).get("id"),
                "size_gb": d.get("diskSizeGB"),
            }
            for d in storage.get("dataDisks") or []
        ],
    }
    apply_instance_view(rec, props.get("instanceView"))
    return rec


def apply_instance_view(rec: Record, instance_view: Mapping[str, Any] | None) -> Record:
    """Power state, generalized state and a provisioning failure from an instance view."""
    if instance_view is None:
        return rec
    rec["instance_view"] = True
    if instance_view.get("hyperVGeneration"):
        rec["hyper_v_generation"] = instance_view["hyperVGeneration"]
    for status in _statuses(instance_view):
        code = status.get("code") or ""
        if code.startswith("PowerState/"):
            rec["power_state"] = code.split("/", 1)[1]
        elif code.lower() == "osstate/generalized":
            rec["os_state"] = "generalized"
        elif code.startswith("ProvisioningState/failed"):
            code = code.split("/", 2)[-1]
            rec["error"] = {
                "code": code,
                "message": status.get("message") or "",
                "retryable": is_retryable(code),
            }
    return rec


def rolling_upgrade(body: Mapping[str, Any]) -> Record:
    """A scale set's latest rolling upgrade: its running status code, progress counts and error."""
    props = body.get("properties") or {}
    error = props.get("error") or {}
    counts = props.get("progress") or {}
    return {
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        "id": body.get("id"),
        "name": body.get("name"),
        "code": (props.get("runningStatus") or {}).get("code"),
        "progress": {
            key: int(counts.get(f"{key}InstanceCount") or 0)
            for key in ("successful", "failed", "inProgress", "pending")
        },
        "error": {"code": error.get("code"), "message": error.get("message")} if error else None,
    }


def run_command(body: Mapping[str, Any]) -> Record:
    rec = _base(RUN_COMMAND, body)
    props = body.get("properties") or {}
    view = props.get("instanceView") or {}
    rec["resource_group"] = resource_group_of(rec["id"])
    rec["properties"] = {
        "script": (props.get("source") or {}).get("script"),
        "execution_state": view.get("executionState"),
        "exit_code": view.get("exitCode"),
        "output": view.get("output"),
        "error": view.get("error"),
    }
    if (rec.get("provisioning_state") or "").lower() == "failed" and view.get("executionState") != "Failed":
        # ARM failed the run (e.g. a platform error) whatever the guest view says: it did not succeed.
        rec["properties"]["execution_state"] = "Failed"
    return rec


def image(body: Mapping[str, Any]) -> Record:
    rec = _base(IMAGE, body)
    props = body.get("properties") or {}
    storage = props.get("storageProfile") or {}
    rec["properties"] = {
        "source_vm_id": (props.get("sourceVirtualMachine") or {}).get("id"),
        "os_type": (storage.get("osDisk") or {}).get("osType"),
        "os_state": (storage.get("osDisk") or {}).get("osState"),
        "data_luns": sorted(d.get("lun") for d in storage.get("dataDisks") or []),
        "hyper_v_generation": props.get("hyperVGeneration"),
        # The snapshots it was made from (what still uses a snapshot that would be deleted).
        "snapshot_ids": [
            d["snapshot"]["id"]
            for d in [storage.get("osDisk") or {}, *(storage.get("dataDisks") or [])]
            if (d.get("snapshot") or {}).get("id")
        ],
    }
    return rec


def disk(body: Mapping[str, Any]) -> Record:
    rec = _base(DISK, body)
    props = body.get("properties") or {}
    rec["properties"] = {
        "managed_by": body.get("managedBy"),
        "disk_state": props.get("diskState"),
        "size_gb": props.get("diskSizeGB"),
        "source_id": (props.get("creationData") or {}).get("sourceResourceId"),
    }
    return rec


def snapshot(body: Mapping[str, Any]) -> Record:
    rec = _base(SNAPSHOT, body)
    props = body.get("properties") or {}
    rec["properties"] = {
        "source_id": (props.get("creationData") or {}).get("sourceResourceId"),
        "incremental": bool(props.get("incremental")),
        "os_type": props.get("osType"),
    }
    return rec


def _nested_name(rec: Record, levels: int) -> Record:
    """Child resources are named ``parent/child`` (as ARM's generic list does)."""
    parts = rec["id"].split("/")
    rec["name"] = "/".join(parts[-1 - 2 * i] for i in reversed(range(levels)))
    return rec


def gallery(body: Mapping[str, Any]) -> Record:
    return _base(GALLERY, body)


def gallery_image(body: Mapping[str, Any]) -> Record:
    rec = _nested_name(_base(GALLERY_IMAGE, body), 2)
    props = body.get("properties") or {}
    rec["properties"] = {
        "os_type": props.get("osType"),
        "os_state": props.get("osState"),
        "hyper_v_generation": props.get("hyperVGeneration"),
        "identifier": dict(props.get("identifier") or {}),
        "security_type": next(
            (
                f.get("value")
                for f in props.get("features") or []
                if str(f.get("name") or "").lower() == "securitytype"
            ),
            None,
        ),
    }
    return rec


def gallery_version(body: Mapping[str, Any]) -> Record:
    rec = _nested_name(_base(GALLERY_VERSION, body), 3)
    props = body.get("properties") or {}
    source = ((props.get("storageProfile") or {}).get("source")) or {}
    publishing = props.get("publishingProfile") or {}
    regions = publishing.get("targetRegions") or []
    replication = (props.get("replicationStatus") or {}).get("summary") or []
    rec["properties"] = {
        "source_id": source.get("id") or source.get("virtualMachineId"),
        "exclude_from_latest": bool(publishing.get("excludeFromLatest")),
        "end_of_life": publishing.get("endOfLifeDate"),  # ISO 8601, as the service wrote it
        "published": publishing.get("publishedDate"),
        "regions": {
            (t.get("name") or "").replace(" ", "").lower(): t.get("regionalReplicaCount") or 1
            for t in regions
        },
        "replication": {
            (e.get("region") or "").replace(" ", "").lower(): e.get("state") for e in replication
        },
    }
    return rec


def vmss(body: Mapping[str, Any]) -> Record:
    rec = _base(VMSS, body)
    props = body.get("properties") or {}
    profile = props.get("virtualMachineProfile") or {}
    sku = body.get("sku") or {}
    rec["properties"] = {
        "size": sku.get("name"),
        "capacity": sku.get("capacity"),
        "image": image_reference((profile.get("storageProfile") or {}).get("imageReference")),
        "zones": list(body.get("zones") or []),
        "security_type": _security_type(profile),
        "health_probe": ((profile.get("networkProfile") or {}).get("healthProbe") or {}).get("id"),
        "health_extension": _health_extension(profile),
    }
    return rec


HEALTH_PUBLISHER = "microsoft.managedservices"
HEALTH_TYPES = {
    "applicationhealthlinux": "ApplicationHealthLinux",
    "applicationhealthwindows": "ApplicationHealthWindows",
}


def _health_extension(profile: Mapping[str, Any]) -> Record | None:
    """A scale set's Application Health extension: its type and what it probes (None without one)."""
    for extension in (profile.get("extensionProfile") or {}).get("extensions") or []:
        props = extension.get("properties") or {}
        kind = HEALTH_TYPES.get((props.get("type") or "").lower())
        if kind and (props.get("publisher") or "").lower() == HEALTH_PUBLISHER:
            settings = props.get("settings") or {}
            return {
                "type": kind,
                "protocol": (settings.get("protocol") or "").lower(),
                "port": settings.get("port"),
                "request_path": settings.get("requestPath"),
            }
    return None


def restore_point_collection(body: Mapping[str, Any]) -> Record:
    rec = _base(RESTORE_POINT_COLLECTION, body)
    source = (body.get("properties") or {}).get("source") or {}
    rec["properties"] = {"source_id": source.get("id")}
    return rec


def restore_point(body: Mapping[str, Any]) -> Record:
    """A VM restore point: its consistency and its disk restore points, per source disk id (lower
    case) and per disk of the VM (``os``, ``data<lun>``: what a restore is made of)."""
    rec = _nested_name(_base(RESTORE_POINT, body), 2)
    props = body.get("properties") or {}
    storage = (props.get("sourceMetadata") or {}).get("storageProfile") or {}
    disks = [storage.get("osDisk") or {}, *(storage.get("dataDisks") or [])]
    os_disk = storage.get("osDisk") or {}
    by_suffix = (
        {"os": (os_disk.get("diskRestorePoint") or {}).get("id")} if os_disk.get("diskRestorePoint") else {}
    )
    for d in sorted(storage.get("dataDisks") or [], key=lambda d: d.get("lun", 0)):
        if d.get("diskRestorePoint"):
            by_suffix[f"data{d.get('lun', 0)}"] = d["diskRestorePoint"].get("id")
    rec["properties"] = {
        "consistency_mode": props.get("consistencyMode"),
        "disks": by_suffix,
        "disk_points": {
            ((d.get("managedDisk") or {}).get("id") or "").lower(): (d.get("diskRestorePoint") or {}).get(
                "id"
            )
            for d in disks
            if d.get("diskRestorePoint")
        },
    }
    return rec


def generic(body: Mapping[str, Any]) -> Record:
    """A resource from the generic resources list (the stack's ownership query)."""
    rec = _base(body.get("type") or "", body)
    levels = max(1, len(rec["type"].split("/")) - 1)
    if levels > 1 and rec["id"]:  # a child resource: "parent/child", whatever the server put in name
        _nested_name(rec, levels)
    return rec


PARSERS = {
    RESOURCE_GROUP: resource_group,
    VNET: vnet,
    NIC: nic,
    VM: vm,
    RUN_COMMAND: run_command,
    IMAGE: image,
    DISK: disk,
    SNAPSHOT: snapshot,
    GALLERY: gallery,
    GALLERY_IMAGE: gallery_image,
    GALLERY_VERSION: gallery_version,
    VMSS: vmss,
    RESTORE_POINT_COLLECTION: restore_point_collection,
    RESTORE_POINT: restore_point,
}
