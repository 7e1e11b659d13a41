"""Neutral desired records -> ARM request bodies (wire JSON the SDK accepts as is).

Secrets travel as SecretRef objects up to here and are revealed only while a body
is built for a request; bodies are never logged or stored.
"""

from __future__ import annotations

from typing import Any

from imagepipe.azure import records as r

# Storage for the disks imagepipe creates; the cheapest tier that every size supports.
DISK_SKU = "Standard_LRS"


def _reveal(secret: Any) -> str | None:
    return secret.reveal() if secret is not None else None


def image_reference(image: str) -> dict[str, Any]:
    """A marketplace URN ``publisher:offer:sku:version`` or a resource id."""
    if image.startswith("/"):
        return {"id": image}
    publisher, offer, sku, version = image.split(":")
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def resource_group(desired: r.Record) -> dict[str, Any]:
    return {"location": desired["location"], "tags": desired["tags"]}


def vnet(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "addressSpace": {"addressPrefixes": list(props["address_prefixes"])},
            "subnets": [
                {"name": name, "properties": {"addressPrefix": prefix}}
                for name, prefix in sorted(props["subnets"].items())
            ],
        },
    }


def nic(desired: r.Record) -> dict[str, Any]:
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "ipConfigurations": [
                {
                    "name": "ipconfig1",
                    "properties": {
                        "subnet": {"id": desired["properties"]["subnet_id"]},
                        "privateIPAllocationMethod": "Dynamic",
                    },
                }
            ]
        },
    }


def snapshot(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    if props["source_id"].startswith("https://"):  # a VHD in blob storage
        creation = {"createOption": "Import", "sourceUri": props["source_id"]}
        return {
            "location": desired["location"],
            "tags": desired["tags"],
            "sku": {"name": DISK_SKU},
            "properties": {
                "creationData": creation,
                "incremental": bool(props.get("incremental")),
                **({"osType": props["os_type"]} if props.get("os_type") else {}),
            },
        }
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "sku": {"name": DISK_SKU},
        "properties": {
            "creationData": {
                "createOption": _copy_option(props["source_id"]),
                "sourceResourceId": props["source_id"],
            },
            "incremental": bool(props.get("incremental")),
        },
    }


def disk(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "sku": {"name": DISK_SKU},
        "properties": {
            "creationData": {
                "createOption": _copy_option(props["source_id"]),
                "sourceResourceId": props["source_id"],
            }
        },
    }


def _copy_option(source_id: str) -> str:
    """A disk restore point (quiesce: restorePoint) is copied with createOption Restore (DiskRP
    swagger, DiskCreateOption), a disk or snapshot with Copy."""
    return "Restore" if "/diskrestorepoints/" in source_id.lower() else "Copy"


# The Microsoft.Network API version Azure uses for the NICs a VM creates itself.
NETWORK_API_VERSION = "2020-11-01"


def _network_profile(props: dict[str, Any]) -> dict[str, Any]:
    """The VM's NICs, the first one primary: its own (``nic``), or NICs created before."""
    nic = props.get("nic")
    if nic is not None:  # one write makes both; the NIC goes when the VM is deleted
        return {
            "networkApiVersion": NETWORK_API_VERSION,
            "networkInterfaceConfigurations": [
                {
                    "name": nic["name"],
                    "tags": dict(nic.get("tags") or {}),
                    "properties": {
                        "primary": True,
                        "deleteOption": "Delete",
                        "ipConfigurations": [
                            {
                                "name": "ipconfig1",
                                "properties": {"subnet": {"id": nic["subnet_id"]}, "primary": True},
                            }
                        ],
                    },
                }
            ],
        }
    return {
        "networkInterfaces": [
            {"id": nic_id, "properties": {"primary": i == 0}} for i, nic_id in enumerate(props["nic_ids"])
        ]
    }


def _with_zones(body: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    if props.get("zones"):
        body["zones"] = list(props["zones"])
    return body


def attached_vm(desired: r.Record) -> dict[str, Any]:
    """A VM on existing disks (a restore of a specialized capture): no image, no OS profile."""
    props = desired["properties"]
    body: dict[str, Any] = {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "hardwareProfile": {"vmSize": props["size"]},
            "storageProfile": {
                "osDisk": {
                    "createOption": "Attach",
                    "osType": props["os_type"],
                    "managedDisk": {"id": props["attach"]["os"]},
                    # The disks are their own step's: replacing a failed VM must not take them along.
                    "deleteOption": "Detach",
                },
                "dataDisks": [
                    {
                        "lun": lun,
                        "createOption": "Attach",
                        "managedDisk": {"id": disk_id},
                        "deleteOption": "Detach",
                    }
                    for lun, disk_id in sorted(props["attach"]["data"].items())
                ],
            },
            "networkProfile": _network_profile(props),
            **_security_profile(props),
        },
    }
    return _with_zones(body, props)


def vm(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    if props.get("attach"):
        return attached_vm(desired)
    name = desired["name"]
    from_image = props["image"].startswith("/")
    computer_name = name[:15] if props["os_type"] == "Windows" else name[:63]
    data_disks = []
    for disk in props.get("data_disks") or []:
        entry: dict[str, Any] = {
            "lun": disk["lun"],
            "name": disk["name"],
            "createOption": "FromImage" if from_image and disk.get("from_image") else "Empty",
            "deleteOption": "Delete",
            "managedDisk": {"storageAccountType": DISK_SKU},
        }
        if disk.get("size_gb"):
            entry["diskSizeGB"] = disk["size_gb"]
        data_disks.append(entry)
    body: dict[str, Any] = {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "hardwareProfile": {"vmSize": props["size"]},
            "storageProfile": {
                "imageReference": image_reference(props["image"]),
                "osDisk": {
                    "name": props["os_disk"]["name"],
                    "createOption": "FromImage",
                    "deleteOption": "Delete",
                    "osType": props["os_type"],
                    "managedDisk": {"storageAccountType": DISK_SKU},
                },
                "dataDisks": data_disks,
            },
            "osProfile": _os_profile(props, computer_name, prefix=False),
            "networkProfile": _network_profile(props),
            **_security_profile(props),
        },
    }
    return _with_zones(body, props)


def _security_profile(props: dict[str, Any]) -> dict[str, Any]:
    """Trusted Launch (Secure Boot and vTPM on), or Standard when it must be said (a Gen2 image)."""
    wanted = props.get("security_profile")
    if wanted == "TrustedLaunch":
        uefi = {"secureBootEnabled": True, "vTpmEnabled": True}
        return {"securityProfile": {"securityType": wanted, "uefiSettings": uefi}}
    if wanted:
        return {"securityProfile": {"securityType": wanted}}
    return {}


def vm_update(desired: r.Record) -> dict[str, Any]:
    """The mutable part of a VM: size and tags."""
    return {
        "tags": desired["tags"],
        "properties": {"hardwareProfile": {"vmSize": desired["properties"]["size"]}},
    }


def run_command(location: str, script: str) -> dict[str, Any]:
    # Synchronous execution: the create LRO ends when the script has ended, so the
    # instance view read right after holds its exit status and output.
    return {
        "location": location,
        "properties": {"source": {"script": script}, "asyncExecution": False, "timeoutInSeconds": 5400},
    }


def image_from_vm(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    if props.get("os_uri"):
        return image_from_vhd(desired)
    body: dict[str, Any] = {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {"sourceVirtualMachine": {"id": props["source_vm_id"]}},
    }
    if props.get("hyper_v_generation"):
        body["properties"]["hyperVGeneration"] = props["hyper_v_generation"]
    return body


def gallery(desired: r.Record) -> dict[str, Any]:
    return {"location": desired["location"], "tags": desired["tags"], "properties": {}}


def gallery_image(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "osType": props["os_type"],
            "osState": props["os_state"],
            "hyperVGeneration": props["hyper_v_generation"],
            "identifier": dict(props["identifier"]),
            "architecture": props.get("architecture") or "x64",
            **(
                {"features": [{"name": "SecurityType", "value": props["security_type"]}]}
                if props.get("security_type")
                else {}
            ),
        },
    }


def _version_source(source_id: str) -> dict[str, str]:
    """A VM (a Trusted Launch source) is named by virtualMachineId, a managed image by id."""
    if "/providers/microsoft.compute/virtualmachines/" in source_id.lower():
        return {"virtualMachineId": source_id}
    return {"id": source_id}


def gallery_version(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "storageProfile": {"source": _version_source(props["source_id"])},
            "publishingProfile": {
                "targetRegions": [
                    {"name": region, "regionalReplicaCount": count}
                    for region, count in sorted(props["regions"].items())
                ]
            },
        },
    }


def version_marks(exclude_from_latest: bool, end_of_life: str | None) -> dict[str, Any]:
    """A gallery image version's PATCH (GalleryImageVersions_Update): the publishing profile's marks only."""
    publishing: dict[str, Any] = {"excludeFromLatest": exclude_from_latest}
    if end_of_life is not None:
        publishing["endOfLifeDate"] = end_of_life
    return {"properties": {"publishingProfile": publishing}}


def _os_profile(props: dict[str, Any], computer_name: str, prefix: bool) -> dict[str, Any]:
    key = "computerNamePrefix" if prefix else "computerName"
    profile: dict[str, Any] = {key: computer_name, "adminUsername": props["admin_username"]}
    password = _reveal(props.get("admin_password"))
    if password:
        profile["adminPassword"] = password
    ssh_key = _reveal(props.get("ssh_public_key"))
    if props["os_type"] == "Linux":
        linux: dict[str, Any] = {"disablePasswordAuthentication": not password}
        if ssh_key:
            linux["ssh"] = {
                "publicKeys": [
                    {"path": f"/home/{props['admin_username']}/.ssh/authorized_keys", "keyData": ssh_key}
                ]
            }
        profile["linuxConfiguration"] = linux
    return profile


def vmss(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    prefix = desired["name"][:9] if props["os_type"] == "Windows" else desired["name"][:50]
    body: dict[str, Any] = {
        "location": desired["location"],
        "tags": desired["tags"],
        "sku": {"name": props["size"], "capacity": props["capacity"], "tier": "Standard"},
        "properties": {
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "storageProfile": {
                    "imageReference": image_reference(props["image"]),
                    "osDisk": {"createOption": "FromImage", "managedDisk": {"storageAccountType": DISK_SKU}},
                },
                "osProfile": _os_profile(props, prefix, prefix=True),
                **_security_profile(props),
                **_extension_profile(props),
                "networkProfile": {
                    "networkInterfaceConfigurations": [
                        {
                            "name": f"{desired['name']}-nic",
                            "properties": {
                                "primary": True,
                                "ipConfigurations": [
                                    {
                                        "name": "ipconfig1",
                                        "properties": {"subnet": {"id": props["subnet_id"]}},
                                    }
                                ],
                            },
                        }
                    ]
                },
            },
        },
    }
    return _with_zones(body, props)


HEALTH_EXTENSION = "HealthExtension"  # the name imagepipe gives a scale set's Application Health extension


def _extension_profile(props: dict[str, Any]) -> dict[str, Any]:
    """A scale set's extension profile: the Application Health extension (Learn: "Using Application
    Health extension with Virtual Machine Scale Sets", binary health states, handler 1.0)."""
    health = props.get("health_extension")
    if not health:
        return {}
    settings: dict[str, Any] = {"protocol": health["protocol"], "port": health["port"]}
    if health.get("request_path"):
        settings["requestPath"] = health["request_path"]
    extension = {
        "name": HEALTH_EXTENSION,
        "properties": {
            "publisher": "Microsoft.ManagedServices",
            "type": health["type"],
            "typeHandlerVersion": "1.0",
            "autoUpgradeMinorVersion": True,
            "settings": settings,
        },
    }
    return {"extensionProfile": {"extensions": [extension]}}


def vmss_update(desired: r.Record) -> dict[str, Any]:
    """A scale set's PATCH: capacity and tags; a new image with Azure's rolling upgrade; the health
    extension when the model must carry it (``write_health_extension``; a PATCH replaces the list)."""
    props = desired["properties"]
    body: dict[str, Any] = {
        "tags": desired["tags"],
        "sku": {"name": props["size"], "capacity": props["capacity"]},
    }
    model: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    if props.get("rolling_upgrade"):  # a new image: one model write that Azure rolls out in batches
        model["upgradePolicy"] = {"mode": "Rolling", "rollingUpgradePolicy": props["rolling_upgrade"]}
        profile["storageProfile"] = {"imageReference": image_reference(props["image"])}
    if props.get("write_health_extension"):
        profile.update(_extension_profile(props))
    if profile:
        model["virtualMachineProfile"] = profile
    if model:
        body["properties"] = model
    return body


def image_from_vhd(desired: r.Record) -> dict[str, Any]:
    props = desired["properties"]
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {
            "storageProfile": {
                "osDisk": {
                    "osType": props["os_type"],
                    "osState": props["os_state"],
                    "blobUri": props["os_uri"],
                },
                "dataDisks": [{"lun": lun, "blobUri": uri} for lun, uri in enumerate(props["data_uris"])],
            }
        },
    }


def restore_point_collection(desired: r.Record) -> dict[str, Any]:
    return {
        "location": desired["location"],
        "tags": desired["tags"],
        "properties": {"source": {"id": desired["properties"]["source_id"]}},
    }


def restore_point(desired: r.Record) -> dict[str, Any]:
    return {"properties": {"consistencyMode": desired["properties"]["consistency_mode"]}}


BUILDERS = {
    r.RESOURCE_GROUP: resource_group,
    r.VNET: vnet,
    r.NIC: nic,
    r.VM: vm,
    r.IMAGE: image_from_vm,
    r.SNAPSHOT: snapshot,
    r.DISK: disk,
    r.GALLERY: gallery,
    r.GALLERY_IMAGE: gallery_image,
    r.GALLERY_VERSION: gallery_version,
    r.VMSS: vmss,
    r.RESTORE_POINT_COLLECTION: restore_point_collection,
    r.RESTORE_POINT: restore_point,
}
