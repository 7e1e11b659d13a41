"""Conformance with the swagger examples (x-ms-examples) of the Compute REST API.

Each example's request is sent as the example gives it (method and path from its
operationId, body from its parameters, ids rewritten to the emulator's subscription
and to resources created first), and the answer must use one of the example's status
codes and carry the example response's keys at every depth (its body shape), less the
fields listed below with the reason each is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import (
    COMPLEX_PASSWORD,
    DEPROVISION_LINUX,
    WINDOWS_2022,
    Arm,
    Clients,
    bearer_token,
    create_nic,
    create_resource_group,
    create_subnet,
    create_vm,
    generalize_in_place,
    image_from_blob,
    run_script,
    unique,
    wait_until,
)
from .test_sdk_gallery import scale_set_body

# Vendored from Azure/azure-rest-api-specs (MIT); tests/reference/README.md names each file's source.
EXAMPLES = Path(__file__).resolve().parents[1] / "reference" / "azure-compute" / "examples"
LOCATION = "westus"

# Read-only fields Azure sets from features the emulator does not model. One place, with the reason.
KNOWN_EXCEPTIONS: dict[str, str] = {
    "nextLink": "only present when a list has a further page; Compute's lists here fit in one page",
    "resources": "VM extensions are not modelled",
    "managedBy": "set on VMs only for flexible scale-set members; on disks only while attached",
    "availabilitySet": "availability sets are not modelled",
    "proximityPlacementGroup": "proximity placement groups are not modelled",
    "applicationProfile": "VM applications are not modelled",
    "userData": "userData is echoed only when a request set it",
    "diagnosticsProfile": "boot diagnostics are not modelled",
    "bootDiagnostics": "boot diagnostics are not modelled",
    "extensionsTimeBudget": "VM extensions are not modelled",
    "extensions": "VM extensions are not modelled",
    "extensionHandlers": "VM extensions are not modelled",
    "securityProfile": "trusted launch / confidential VM settings are not modelled",
    "purchasePlan": "marketplace purchase plans are not modelled",
    "supportedCapabilities": "disk capability flags (accelerated networking, architecture) are not modelled",
    "supportsHibernation": "hibernation is not modelled",
    "encryptionSettingsCollection": "Azure Disk Encryption is not modelled",
    "LastOwnershipUpdateTime": "disk ownership history is not modelled",
    "patchStatus": "guest patching is not modelled",
}

# Key paths (of the example's answer) that describe the example's own resource, not every one:
# the replayed request makes the resource from another source.
# Key paths of an example's answer that describe that example's own resource, not every one
# (the replayed request makes it from another source): (examples whose name starts so, path).
SAMPLE_SPECIFIC: dict[tuple[str, str], str] = {
    (
        "Disk_Get",
        "properties.creationData.imageReference",
    ): "the example's disk is made from an image, the replayed one copies a disk",
    (
        "Image",
        "properties.storageProfile.osDisk.snapshot",
    ): "the example's image is made from a snapshot, the replayed one from a blob",
    (
        "Image",
        "properties.storageProfile.osDisk.managedDisk",
    ): "the example's image is made from a disk, the replayed one from a blob",
    (
        "Image",
        "properties.storageProfile.osDisk.storageAccountType",
    ): "echoed when the request sets it (Image_CreateFromABlob has none)",
    (
        "Image",
        "properties.storageProfile.osDisk.diskSizeGB",
    ): "echoed when the request sets it (Image_CreateFromABlob has none)",
    (
        "Image",
        "properties.storageProfile.dataDisks",
    ): "the example's image has data disks, the replayed one none",
    (
        "GalleryImageVersion",
        "properties.storageProfile.dataDiskImages",
    ): "the example's source has data disks, the replayed one none",
    (
        "GalleryImageVersion_Get",
        "properties.publishingProfile.targetRegions[].encryption",
    ): "set only when the request sets it",
    (
        "GalleryImageVersion",
        "properties.safetyProfile.policyViolations",
    ): "set only when an image has been reported",
}
USER_MAPS = {"tags"}  # their keys are the example's data

RG_PATH = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
COMPUTE = RG_PATH + "/providers/Microsoft.Compute"
VM = COMPUTE + "/virtualMachines/{vmName}"
VERSION = COMPUTE + "/galleries/{galleryName}/images/{galleryImageName}/versions/{galleryImageVersionName}"
# operationId -> (method, path template), from the swagger slices' paths.
OPERATIONS: dict[str, tuple[str, str]] = {
    "Disks_CreateOrUpdate": ("PUT", COMPUTE + "/disks/{diskName}"),
    "Disks_Delete": ("DELETE", COMPUTE + "/disks/{diskName}"),
    "Disks_Get": ("GET", COMPUTE + "/disks/{diskName}"),
    "Galleries_CreateOrUpdate": ("PUT", COMPUTE + "/galleries/{galleryName}"),
    "GalleryImages_CreateOrUpdate": ("PUT", COMPUTE + "/galleries/{galleryName}/images/{galleryImageName}"),
    "GalleryImageVersions_CreateOrUpdate": ("PUT", VERSION),
    "GalleryImageVersions_Get": ("GET", VERSION),
    "Images_CreateOrUpdate": ("PUT", COMPUTE + "/images/{imageName}"),
    "Images_Delete": ("DELETE", COMPUTE + "/images/{imageName}"),
    "Images_Get": ("GET", COMPUTE + "/images/{imageName}"),
    "Images_ListByResourceGroup": ("GET", COMPUTE + "/images"),
    "Snapshots_CreateOrUpdate": ("PUT", COMPUTE + "/snapshots/{snapshotName}"),
    "Snapshots_Get": ("GET", COMPUTE + "/snapshots/{snapshotName}"),
    "VirtualMachineScaleSets_CreateOrUpdate": ("PUT", COMPUTE + "/virtualMachineScaleSets/{vmScaleSetName}"),
    "VirtualMachineScaleSets_Update": ("PATCH", COMPUTE + "/virtualMachineScaleSets/{vmScaleSetName}"),
    "VirtualMachines_CreateOrUpdate": ("PUT", VM),
    "VirtualMachines_Deallocate": ("POST", VM + "/deallocate"),
    "VirtualMachines_Delete": ("DELETE", VM),
    "VirtualMachines_Generalize": ("POST", VM + "/generalize"),
    "VirtualMachines_Get": ("GET", VM),
    "VirtualMachines_InstanceView": ("GET", VM + "/instanceView"),
    "VirtualMachines_List": ("GET", COMPUTE + "/virtualMachines"),
    "VirtualMachines_PowerOff": ("POST", VM + "/powerOff"),
    "VirtualMachines_RunCommand": ("POST", VM + "/runCommand"),
    "VirtualMachines_Start": ("POST", VM + "/start"),
}


def example_files() -> list[Path]:
    if not EXAMPLES.is_dir():
        return []
    return sorted(EXAMPLES.glob("*.json"))


def operation_id(example: dict[str, Any], stem: str) -> str:
    """The example's operationId, else inferred from its file name (`GalleryImage_Create` and the like)."""
    if example.get("operationId"):
        return example["operationId"]
    kind, verb = stem.split("_")[:2]
    plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
    return f"{plural}_{'CreateOrUpdate' if verb == 'Create' else verb}"


def test_every_example_is_supported() -> None:
    unsupported = [
        p.name for p in example_files() if operation_id(json.loads(p.read_text()), p.stem) not in OPERATIONS
    ]
    assert unsupported == []


# -- rewriting the example's request to the emulator's world -------------------------------------


class World:
    """The resources an example refers to, created in its own resource group."""

    def __init__(self, clients: Clients, example: dict[str, Any]) -> None:
        self.clients = clients
        self.params = example["parameters"]
        self.rg = create_resource_group(clients, unique("conf"), LOCATION)
        self.subnet = create_subnet(clients, self.rg, LOCATION, vnet="vnet", subnet="default")

    def path_value(self, key: str) -> str:
        return str(self.params[key])

    def vm(self, name: str, *, windows: bool = False, data_disks: tuple[int, ...] = ()) -> None:
        profile = None
        image = None
        if windows:
            image = WINDOWS_2022
            profile = {
                "computerName": name[:15],
                "adminUsername": "azureadmin",
                "adminPassword": COMPLEX_PASSWORD,
            }
        create_vm(
            self.clients,
            self.rg,
            name,
            self.subnet,
            location=LOCATION,
            image_reference=image,
            os_profile=profile,
            data_disk_sizes=data_disks,
        )

    def disk_copy_of_os_disk(self, name: str) -> str:
        self.vm(f"{name}-vm")
        source = self.compute_id("disks", f"{name}-vm-osdisk")
        body = {
            "location": LOCATION,
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source}},
        }
        return self.clients.compute.disks.begin_create_or_update(self.rg, name, body).result().id

    def snapshot(self, name: str, *, incremental: bool = False, location: str = LOCATION) -> None:
        if location == LOCATION:
            disk = self.disk_copy_of_os_disk(f"{name}-disk")
        else:  # a source in another region: an empty disk there
            body = {
                "location": location,
                "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 8},
            }
            disk = (
                self.clients.compute.disks.begin_create_or_update(self.rg, f"{name}-disk", body).result().id
            )
        body = {
            "location": location,
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk},
                "incremental": incremental,
            },
        }
        self.clients.compute.snapshots.begin_create_or_update(self.rg, name, body).result()

    def gallery(self, with_definition: bool = False) -> None:
        compute = self.clients.compute
        gallery = self.path_value("galleryName")
        compute.galleries.begin_create_or_update(
            self.rg, gallery, {"location": LOCATION, "properties": {}}
        ).result()
        if with_definition:
            body = {
                "location": LOCATION,
                "properties": {
                    "osType": "Linux",
                    "osState": "Generalized",
                    "hyperVGeneration": "V1",
                    "identifier": {"publisher": "p", "offer": "o", "sku": "s"},
                },
            }
            compute.gallery_images.begin_create_or_update(
                self.rg, gallery, self.path_value("galleryImageName"), body
            ).result()

    def compute_id(self, kind: str, name: str) -> str:
        return f"/subscriptions/{self.clients.subscription_id}/resourceGroups/{self.rg}/providers/Microsoft.Compute/{kind}/{name}"

    def rewrite(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self.rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.rewrite(item) for item in value]
        if not isinstance(value, str):
            return value
        replacements = {
            "{subscription-id}": self.clients.subscription_id,
            "{subscriptionId}": self.clients.subscription_id,
            str(self.params.get("subscriptionId")): self.clients.subscription_id,
            f"/resourceGroups/{self.params.get('resourceGroupName')}/": f"/resourceGroups/{self.rg}/",
            "{resourceGroup}": self.rg,
            "{existing-custom-image-name}": "srcimage",
            "{imageName}": "srcimage",
            "{existing-nic-name}": "nic",
            "{existing-virtual-network-name}": "vnet",
            "{existing-subnet-name}": "default",
            "{your-username}": "azureuser",
            "{your-password}": COMPLEX_PASSWORD,
        }
        for old, new in replacements.items():
            value = value.replace(old, new)
        # Ids written without their leading slash (Image_CreateFromASnapshot, ...) are sent as
        # written: ARM accepts them.
        return value


def prepare(world: World, stem: str) -> None:
    """Create what the example's request refers to."""
    p = world.path_value
    setups: dict[str, Any] = {
        "Disk_Delete": lambda: world.disk_copy_of_os_disk(p("diskName")),
        "Disk_Get": lambda: world.disk_copy_of_os_disk(p("diskName")),
        "GalleryImageVersion_Create": lambda: (
            world.gallery(True),
            image_from_blob(world.clients, world.rg, "srcimage", LOCATION),
        ),
        "GalleryImageVersion_Get_WithReplicationStatus": lambda: create_version(world),
        "GalleryImage_Create": lambda: world.gallery(False),
        "Image_CreateFromASnapshot": lambda: world.snapshot("mySnapshot"),
        "Image_CreateFromAVM": lambda: generalized_vm(world, "myVM"),
        "Image_Get": lambda: image_from_blob(world.clients, world.rg, p("imageName"), LOCATION),
        "Image_ListByResourceGroup": lambda: image_from_blob(world.clients, world.rg, "myImage", LOCATION),
        "Images_Delete_MinimumSet_Gen": lambda: image_from_blob(
            world.clients, world.rg, p("imageName"), LOCATION
        ),
        "Snapshot_Create_FromAnExistingSnapshot": lambda: world.snapshot("mySnapshot1"),
        "Snapshot_Create_FromAnExistingSnapshotInDifferentRegion": lambda: world.snapshot(
            "mySnapshot1", location="eastus"
        ),
        "Snapshot_GetIncrementalSnapshot": lambda: world.snapshot(p("snapshotName"), incremental=True),
        "VirtualMachineRunCommand": lambda: world.vm(p("vmName"), windows=True),
        "VirtualMachineScaleSet_Create_FromACustomImage": lambda: image_from_blob(
            world.clients, world.rg, "srcimage", LOCATION
        ),
        "VirtualMachineScaleSet_Update_MinimumSet_Gen": lambda: create_scale_set(world),
        "VirtualMachine_Create_FromACustomImage": lambda: (
            image_from_blob(world.clients, world.rg, "srcimage", LOCATION),
            create_nic(world.clients, world.rg, "nic", world.subnet, LOCATION),
        ),
        "VirtualMachine_Deallocate_MinimumSet_Gen": lambda: world.vm(p("vmName")),
        "VirtualMachine_Delete_Force": lambda: world.vm(p("vmName")),
        "VirtualMachine_Generalize": lambda: generalized_vm(world, p("vmName"), generalize=False),
        # As the example's: a Windows VM with data disks.
        "VirtualMachine_Get": lambda: world.vm(p("vmName"), windows=True, data_disks=(1023, 1023)),
        "VirtualMachine_Get_InstanceView": lambda: world.vm(p("vmName")),
        "VirtualMachine_List_MinimumSet_Gen": lambda: world.vm("listed"),
        "VirtualMachine_PowerOff_MinimumSet_Gen": lambda: world.vm(p("vmName")),
        "VirtualMachine_Start_MinimumSet_Gen": lambda: (
            world.vm(p("vmName")),
            world.clients.compute.virtual_machines.begin_deallocate(world.rg, p("vmName")).result(),
        ),
    }
    setup = setups.get(stem)
    if setup is not None:
        setup()


def generalized_vm(world: World, name: str, *, generalize: bool = True) -> None:
    world.vm(name)
    if generalize:
        generalize_in_place(world.clients, world.rg, name)
        return
    run_script(world.clients, world.rg, name, [DEPROVISION_LINUX])
    world.clients.compute.virtual_machines.begin_deallocate(world.rg, name).result()


def create_version(world: World) -> None:
    world.gallery(True)
    image = image_from_blob(world.clients, world.rg, "srcimage", LOCATION)
    body = {
        "location": LOCATION,
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": LOCATION, "regionalReplicaCount": 1}]},
            "storageProfile": {"source": {"id": image.id}},
        },
    }
    p = world.path_value
    world.clients.compute.gallery_image_versions.begin_create_or_update(
        world.rg, p("galleryName"), p("galleryImageName"), p("galleryImageVersionName"), body
    ).result()


def create_scale_set(world: World) -> None:
    image = image_from_blob(world.clients, world.rg, "srcimage", LOCATION)
    body = scale_set_body(image.id, world.subnet, 1) | {"location": LOCATION}
    world.clients.compute.virtual_machine_scale_sets.begin_create_or_update(
        world.rg, world.path_value("vmScaleSetName"), body
    ).result()


def request_of(world: World, op_id: str) -> tuple[str, str, dict[str, str], Any]:
    method, template = OPERATIONS[op_id]
    params = dict(world.params)
    path_keys = {key for key in params if "{" + key + "}" in template}
    values = {key: str(params[key]) for key in path_keys}
    values["subscriptionId"] = world.clients.subscription_id
    values["resourceGroupName"] = world.rg
    path = template.format(**values)
    body = next((world.rewrite(v) for k, v in params.items() if isinstance(v, dict)), None)
    query: dict[str, str] = {}
    for key, value in params.items():
        if key in path_keys or isinstance(value, dict) or key in {"subscriptionId", "resourceGroupName"}:
            continue
        query["api-version" if key == "version" else key] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return method, path, query, body


def shape(value: Any, path: str = "") -> set[str]:
    """The dotted key paths of a JSON value; list items share one path (`key[]`), and user
    maps (tags) are leaves."""
    if isinstance(value, list):
        return {p for item in value for p in shape(item, f"{path.rstrip('.')}[].")}
    if not isinstance(value, dict):
        return set()
    paths: set[str] = set()
    for key, item in value.items():
        if key in KNOWN_EXCEPTIONS:
            continue
        paths.add(f"{path}{key}")
        if key not in USER_MAPS:
            paths |= shape(item, f"{path}{key}.")
    return paths


def missing_keys(expected: Any, actual: Any, stem: str = "") -> list[str]:
    """The key paths of the example's body, at any depth, that the answer lacks."""
    skipped = [
        prefix
        for (example, path), _ in SAMPLE_SPECIFIC.items()
        if stem.startswith(example)
        for prefix in (path, f"value[].{path}")
    ]
    return sorted(
        p
        for p in shape(expected) - shape(actual)
        if not any(p == s or p.startswith(s + ".") or p.startswith(s + "[]") for s in skipped)
    )


def example_params() -> list[Any]:
    # Without examples the parameter set would be empty and pytest would skip quietly: fail instead.
    return [pytest.param(p, id=p.stem) for p in example_files()] or [
        pytest.param(None, id="examples-missing")
    ]


@pytest.mark.parametrize("path", example_params())
def test_example(emulator: Any, clients: Clients, path: Path | None) -> None:
    if path is None:
        pytest.fail(f"swagger examples not found: looked in {EXAMPLES} (tests/reference/ in the repository)")
    example = json.loads(path.read_text())
    op_id = operation_id(example, path.stem)
    world = World(clients, example)
    prepare(world, path.stem)
    method, url, query, body = request_of(world, op_id)
    arm = Arm(emulator, bearer_token(clients.credential))
    answer = arm.request(method, url, body=body, api_version=None, params=query)

    expected_codes = sorted(int(code) for code in example["responses"])
    assert answer.status_code in expected_codes, f"{method} {url}: {answer.status_code} {answer.text[:300]}"
    expected = example["responses"][str(answer.status_code)].get("body")
    final = answer
    if (
        answer.status_code == 202
        and "Location" in answer.headers
        and example["responses"].get("200", {}).get("body")
    ):
        # An action with a result: the Location URL answers 202 while running, then the result.
        final = wait_until(
            lambda: (
                (r := arm.request("GET", answer.headers["Location"], api_version=None)).status_code != 202
                and r
            )
        )
        assert final.status_code == 200, final.text[:300]
        expected = example["responses"]["200"]["body"]
    if isinstance(expected, dict):
        assert final.content, (
            f"{method} {url}: {final.status_code} without a body; headers {dict(final.headers)}"
        )
        actual = final.json()
        assert missing_keys(expected, actual, path.stem) == [], json.dumps(actual)[:600]
        if final.request.method == "GET" and "value" not in actual:
            # etag only where the type's definition has one, and then also as the ETag header.
            assert ("etag" in actual) == ("etag" in expected), json.dumps(actual)[:300]
            assert final.headers.get("ETag") == actual.get("etag")
