"""Generated spec sets for the benchmarks: a capture, and Deployments fanning out from it.

The capture and the fan-out are two spec folders of the same stack: the first
holds the Stack, the source and the Capture (applied during set-up, not timed),
the second the same documents plus the Deployments (its apply is what is timed).
Spec folders are written with PyYAML, so every value is quoted as YAML needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

API_VERSION = "imagepipe/v1"
STACK = "bench"
CAPTURE = "golden"
IMAGES_GROUP = "bench-images-rg"
HOME_REGION = "eastus"
GALLERY_REGIONS = ("eastus", "westus")
KEY_FILE = "bench_id_ed25519.pub"
GALLERY = "benchgallery"
GALLERY_VERSION = "1.0.0"
MAX_REPLICAS_PER_REGION = 100

ImageKind = Literal["managed", "gallery"]
SourceKind = Literal["vhd", "vm"]
DeploymentMode = Literal["vms", "scaleSet"]


@dataclass(frozen=True)
class FanoutShape:
    """What to generate: N VMs from one capture, as one or more Deployments."""

    n: int
    image: ImageKind = "managed"
    source: SourceKind = "vhd"
    mode: DeploymentMode = "vms"
    per_deployment: int = 250  # VMs per Deployment (each in its own resource group)
    replicas_per_region: int | None = None  # gallery: None = enough for one round of creates

    @property
    def regions(self) -> tuple[str, ...]:
        return GALLERY_REGIONS if self.image == "gallery" else (HOME_REGION,)

    @property
    def replicas(self) -> int:
        """Gallery replicas per region: as asked, or so that one round of creates serves the
        region's share."""
        if self.replicas_per_region is not None:
            return self.replicas_per_region
        per_region = math.ceil(self.n / len(self.regions))
        return min(MAX_REPLICAS_PER_REGION, max(1, math.ceil(per_region / 20)))


def split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as possible, larger shares first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def chunks(total: int, size: int) -> list[int]:
    return split(total, max(1, math.ceil(total / size))) if total else []


def public_key_line() -> str:
    """A throw-away OpenSSH public key; the matching private key is discarded."""
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def stack_document() -> dict[str, Any]:
    return _doc("Stack", STACK, {"location": HOME_REGION, "tags": {"purpose": "benchmark"}})


def source_documents(source: SourceKind) -> list[dict[str, Any]]:
    if source == "vhd":
        return [
            _doc(
                "SourceVHD",
                CAPTURE,
                {
                    "resourceGroup": IMAGES_GROUP,
                    "osType": "Linux",
                    "osState": "Generalized",
                    "osDiskUri": "https://benchstorage.blob.core.windows.net/vhds/golden-os.vhd",
                },
            )
        ]
    return [
        _doc(
            "SourceVM",
            CAPTURE,
            {
                "resourceGroup": IMAGES_GROUP,
                "vmName": "golden-build",
                "create": {
                    "image": "Ubuntu2204",
                    "securityType": "Standard",
                    "sshPublicKey": {"file": KEY_FILE},
                    "subnet": {"vnet": "build-vnet", "name": "build", "addressPrefix": "10.255.0.0/24"},
                },
            },
        )
    ]


def capture_document(shape: FanoutShape) -> dict[str, Any]:
    source_kind = "SourceVHD" if shape.source == "vhd" else "SourceVM"
    spec: dict[str, Any] = {
        "source": f"{source_kind}/{CAPTURE}",
        "type": "generalized",
        "image": {"resourceGroup": IMAGES_GROUP, "name": f"{CAPTURE}-image"},
    }
    if shape.source == "vm":
        spec["preserveSource"] = False  # generalize the build VM itself: the shortest capture
    if shape.image == "gallery":
        spec["gallery"] = {
            "resourceGroup": IMAGES_GROUP,
            "name": GALLERY,
            "definition": {"name": CAPTURE, "publisher": "bench", "offer": CAPTURE, "sku": "linux"},
            "version": GALLERY_VERSION,
            "targetRegions": [{"name": region, "replicas": shape.replicas} for region in shape.regions],
        }
    return _doc("Capture", CAPTURE, spec)


def deployment_documents(shape: FanoutShape) -> list[dict[str, Any]]:
    """N VMs split evenly over the regions, then into Deployments of at most `per_deployment`."""
    docs = []
    serial = 0
    for region, region_count in zip(shape.regions, split(shape.n, len(shape.regions)), strict=True):
        sizes = [region_count] if shape.mode == "scaleSet" else chunks(region_count, shape.per_deployment)
        for count in sizes:
            if not count:
                continue
            name = f"fleet-{serial:02d}"
            spec: dict[str, Any] = {
                "image": f"Capture/{CAPTURE}",
                "resourceGroup": f"bench-{name}-rg",
                "location": region,
                "count": count,
                "namePattern": f"{name}-{{index:04d}}",
                # /21: room for 2,043 NICs, more than the 1,000 a Deployment may hold
                "subnet": {"vnet": f"{name}-vnet", "name": "vms", "addressPrefix": f"10.{serial}.0.0/21"},
                "sshPublicKey": {"file": KEY_FILE},
            }
            if shape.mode == "scaleSet":
                spec["mode"] = "scaleSet"
            docs.append(_doc("Deployment", name, spec))
            serial += 1
    return docs


def write_spec_set(folder: Path, documents: list[dict[str, Any]], key_line: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).write_text(key_line + "\n", encoding="utf-8")
    with (folder / "specs.yaml").open("w", encoding="utf-8") as out:
        yaml.safe_dump_all(documents, out, sort_keys=False)
    return folder


@dataclass(frozen=True)
class FanoutSpecs:
    capture_only: Path  # Stack + source + Capture
    fanout: Path  # the same plus the Deployments


def write_fanout_specs(root: Path, shape: FanoutShape) -> FanoutSpecs:
    key_line = public_key_line()
    base = [stack_document(), *source_documents(shape.source), capture_document(shape)]
    return FanoutSpecs(
        capture_only=write_spec_set(root / "capture", base, key_line),
        fanout=write_spec_set(root / "fanout", [*base, *deployment_documents(shape)], key_line),
    )


# -- the 10,000-step spec set of the validate benchmark -------------------------------------

# Steps each part expands into (docs/internals.md): the shared images resource group;
# per capture, the build VM's group, vnet, NIC, VM and customize step, ten steps of a
# preserveSource capture and three of its gallery; per Deployment, its group and vnet,
# then a VM per instance (which creates its own NIC).
SHARED_STEPS = 1
STEPS_PER_CAPTURE = 18
STEPS_PER_DEPLOYMENT = 2
STEPS_PER_VM = 1


@dataclass(frozen=True)
class LargeShape:
    captures: int
    vm_counts: tuple[int, ...]  # one per Deployment

    @property
    def steps(self) -> int:
        return (
            SHARED_STEPS
            + STEPS_PER_CAPTURE * self.captures
            + STEPS_PER_DEPLOYMENT * len(self.vm_counts)
            + STEPS_PER_VM * sum(self.vm_counts)
        )


def large_shape(target_steps: int, captures: int = 10, deployments: int = 20) -> LargeShape:
    """Counts whose graph has `target_steps` steps (one more when the parity does not allow it)."""
    fixed = SHARED_STEPS + STEPS_PER_CAPTURE * captures + STEPS_PER_DEPLOYMENT * deployments
    vms = max(deployments, math.ceil((target_steps - fixed) / STEPS_PER_VM))
    return LargeShape(captures, tuple(split(vms, deployments)))


def large_spec_documents(shape: LargeShape) -> Iterator[dict[str, Any]]:
    """Source VMs built and customised, captured (preserving the source) to galleries, fanned out."""
    yield stack_document()
    for c in range(shape.captures):
        name = f"golden-{c:02d}"
        yield _doc(
            "SourceVM",
            name,
            {
                "resourceGroup": f"build-{c:02d}-rg",
                "vmName": f"{name}-build",
                "create": {
                    "image": "Ubuntu2204",
                    "securityType": "Standard",
                    "sshPublicKey": {"file": KEY_FILE},
                    "subnet": {"vnet": "build-vnet", "name": "build", "addressPrefix": "10.250.0.0/24"},
                    "dataDisks": [{"sizeGB": 64}],
                    "customize": [{"script": "sudo apt-get -y install nginx"}],
                },
            },
        )
        yield _doc(
            "Capture",
            name,
            {
                "source": f"SourceVM/{name}",
                "type": "generalized",
                "gallery": {
                    "resourceGroup": "images-rg",
                    "name": "gallery",
                    "definition": {"name": name, "publisher": "bench", "offer": name, "sku": "linux"},
                    "version": "1.0.0",
                    "targetRegions": [{"name": r, "replicas": 25} for r in GALLERY_REGIONS],
                },
            },
        )
    for d, count in enumerate(shape.vm_counts):
        name = f"fleet-{d:03d}"
        yield _doc(
            "Deployment",
            name,
            {
                "image": f"Capture/golden-{d % max(1, shape.captures):02d}",
                "resourceGroup": f"{name}-rg",
                "location": GALLERY_REGIONS[d % len(GALLERY_REGIONS)],
                "count": count,
                "namePattern": f"{name}-{{index:04d}}",
                "subnet": {"vnet": "vnet", "name": "vms", "addressPrefix": f"10.{d % 250}.0.0/21"},
                "sshPublicKey": {"file": KEY_FILE},
            },
        )


def write_large_spec_set(folder: Path, shape: LargeShape) -> Path:
    """Sources and captures in one file, Deployments ten to a file, as a repository would split them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).write_text(public_key_line() + "\n", encoding="utf-8")
    documents = list(large_spec_documents(shape))
    fleet = [d for d in documents if d["kind"] == "Deployment"]
    rest = [d for d in documents if d["kind"] != "Deployment"]
    with (folder / "images.yaml").open("w", encoding="utf-8") as out:
        yaml.safe_dump_all(rest, out, sort_keys=False)
    for start in range(0, len(fleet), 10):
        with (folder / f"fleet-{start // 10:03d}.yaml").open("w", encoding="utf-8") as out:
            yaml.safe_dump_all(fleet[start : start + 10], out, sort_keys=False)
    return folder
