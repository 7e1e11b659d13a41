"""What a VM, disk or scale set is created from: platform image, managed image or gallery version."""

from __future__ import annotations

from dataclasses import dataclass, field

from imagepipe.emulator import catalogue, ids, replication, security
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.types import GALLERY_IMAGE, GALLERY_VERSION, IMAGE

CONCURRENT_LIMIT = 20  # concurrent deployments one managed image (or one gallery replica) serves


@dataclass
class ImageSource:
    os_type: str
    hyper_v_generation: str
    os_state: str  # Generalized | Specialized
    deprovisioned: bool  # the captured guest had its identity reset
    os_disk_gb: int
    data_disks: list[dict] = field(default_factory=list)  # [{"lun", "diskSizeGB"}]
    reference: dict = field(default_factory=dict)  # the imageReference to echo
    image_key: str | None = None  # concurrency accounting key
    limit: int = CONCURRENT_LIMIT
    failure: dict | None = None  # an error the create LRO ends with
    creation: dict = field(default_factory=dict)  # a disk's creationData for this source
    capability: str = "Standard"  # the VM security types it can boot (security.CAPABILITIES)
    architecture: str = "x64"
    describe: str = "the image"  # how refusals name it


def resolve(ctx: Ctx, reference: dict, location: str, target_id: str) -> ImageSource:
    """Resolve an imageReference for a resource in `location`, raising Azure's synchronous errors."""
    image_id = (
        reference.get("id")
        or reference.get("sharedGalleryImageId")
        or reference.get("communityGalleryImageId")
    )
    if not image_id:
        image, version = catalogue.resolve(reference)
        urn_ref = {
            "publisher": image.publisher,
            "offer": image.offer,
            "sku": image.sku,
            "version": reference.get("version") or "latest",
        }
        platform_id = (
            f"/Subscriptions/{ctx.subscription}/Providers/Microsoft.Compute/Locations/{location}/Publishers/{image.publisher}"
            f"/ArtifactTypes/VMImage/Offers/{image.offer}/Skus/{image.sku}/Versions/{version}"
        )
        return ImageSource(
            os_type=image.os_type,
            hyper_v_generation=image.hyper_v_generation,
            os_state="Generalized",
            deprovisioned=True,
            os_disk_gb=image.os_disk_gb,
            reference={**urn_ref, "exactVersion": version},
            creation={"createOption": "FromImage", "imageReference": {"id": platform_id}},
            capability=image.capability,
            architecture=image.architecture,
            describe=f"the platform image '{image.urn(version)}'",
        )
    type_name = ids.split(image_id)["type"].lower()
    if type_name == IMAGE.lower():
        return _managed_image(ctx, image_id, location, target_id)
    if type_name in (GALLERY_IMAGE.lower(), GALLERY_VERSION.lower()):
        return _gallery(ctx, image_id, location)
    raise ArmError(
        400,
        "InvalidParameter",
        f"The value '{image_id}' of parameter 'imageReference.id' is invalid.",
        "imageReference.id",
    )


def _managed_image(ctx: Ctx, image_id: str, location: str, target_id: str) -> ImageSource:
    image = ctx.store.get(image_id)
    if image is None or image["type"].lower() != IMAGE.lower():
        raise ArmError(404, "NotFound", f"The Image '{image_id}' cannot be found in '{location}' region.")
    if image["location"] != location:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The Image '{image['id']}' is in a different location '{image['location']}' than the resource "
            f"'{ids.name_of(target_id)}' location '{location}'. Resources must be created in the same location as the "
            "managed image, or use an Azure Compute Gallery image replicated to that location.",
            "imageReference",
        )
    state = image["properties"].get("provisioningState")
    if state != "Succeeded":
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"The resource {target_id} cannot be created from Image {image['id']} until Image has been successfully created.",
        )
    profile = image["properties"]["storageProfile"]
    os_disk = profile["osDisk"]
    source = ImageSource(
        os_type=os_disk["osType"],
        hyper_v_generation=image["properties"].get("hyperVGeneration", "V1"),
        os_state=os_disk.get("osState", "Generalized"),
        deprovisioned=image["_emu"].get("deprovisioned", False),
        os_disk_gb=int(os_disk.get("diskSizeGB") or 30),
        data_disks=[
            {"lun": d["lun"], "diskSizeGB": d.get("diskSizeGB") or 32} for d in profile.get("dataDisks") or []
        ],
        reference={"id": image["id"]},
        image_key=ids.key(image["id"]),
        creation={"createOption": "FromImage", "imageReference": {"id": image["id"]}},
        # A managed image holds a Standard VM's disks; a Gen2 one can boot Trusted Launch VMs.
        capability="TrustedLaunchSupported"
        if image["properties"].get("hyperVGeneration") == "V2"
        else "Standard",
        describe=f"the image '{image['name']}'",
    )
    _check_limit(ctx, source, f"managed image '{image['id']}'")
    return source


def latest_version(ctx: Ctx, definition: dict) -> dict | None:
    versions = [
        v
        for v in ctx.store.children(definition["id"], GALLERY_VERSION)
        if not (v["properties"].get("publishingProfile") or {}).get("excludeFromLatest")
        and v["properties"].get("provisioningState") in ("Succeeded", "Creating", "Updating")
    ]
    if not versions:
        return None

    def order(v: dict) -> tuple:
        return tuple(int(p) if p.isdigit() else 0 for p in v["name"].split("."))

    return max(versions, key=order)


def _gallery(ctx: Ctx, image_id: str, location: str) -> ImageSource:
    doc = ctx.store.get(image_id)
    if doc is None:
        raise ArmError(404, "GalleryImageNotFound", f"The gallery image '{image_id}' is not found.")
    if doc["type"].lower() == GALLERY_IMAGE.lower():
        definition = doc
        version = latest_version(ctx, doc)
        if version is None:
            raise ArmError(
                404, "GalleryImageNotFound", f"The gallery image '{image_id}' has no version to deploy."
            )
    else:
        version = doc
        definition = ctx.store.get(ids.parent_of(image_id))
    regions = {
        r["name"].replace(" ", "").lower(): r
        for r in (version["properties"].get("publishingProfile") or {}).get("targetRegions") or []
    }
    if location not in regions:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The gallery image version '{version['id']}' is not available in region '{location}'; "
            f"it is replicated to: {', '.join(sorted(regions)) or 'no region'}.",
            "imageReference",
        )
    replicas = int(regions[location].get("regionalReplicaCount") or 1)
    dprops = definition["properties"]
    profile = version["_emu"].get("storage", {})
    source = ImageSource(
        os_type=dprops.get("osType", "Linux"),
        hyper_v_generation=dprops.get("hyperVGeneration", "V1"),
        os_state=dprops.get("osState", "Generalized"),
        deprovisioned=version["_emu"].get("deprovisioned", False),
        os_disk_gb=int(profile.get("os_disk_gb", 30)),
        data_disks=list(profile.get("data_disks", [])),
        reference={"id": image_id},
        image_key=f"{ids.key(version['id'])}@{location}",
        limit=CONCURRENT_LIMIT * replicas,
        creation={"createOption": "FromImage", "galleryImageReference": {"id": version["id"]}},
        capability=security.definition_capability(definition),
        architecture=dprops.get("architecture", "x64"),
        describe=f"the gallery image '{definition['name']}'",
    )
    state = replication.replica_state(ctx.clock, version, location)
    if state == "Failed" or version["properties"].get("provisioningState") == "Failed":
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"The gallery image version '{version['id']}' failed to provision and cannot be used.",
            "imageReference",
        )
    if state != "Completed":
        source.failure = {
            "code": "GalleryImageVersionNotReplicated",
            "message": f"The gallery image version '{version['id']}' is not yet replicated to region '{location}'. "
            "Wait until its replication state in that region is Completed.",
        }
        return source
    _check_limit(
        ctx, source, f"gallery image version '{version['id']}' in region '{location}' ({replicas} replica(s))"
    )
    return source


def _check_limit(ctx: Ctx, source: ImageSource, what: str) -> None:
    if source.image_key and ctx.ops.in_flight(source.image_key) >= source.limit:
        source.failure = {
            "code": "ConcurrentDeploymentLimitExceeded",
            "message": f"The {what} already serves {source.limit} concurrent deployments, its limit. "
            "Wait for deployments to finish, or deploy from an Azure Compute Gallery image version with more replicas.",
        }
