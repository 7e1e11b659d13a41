"""Marketplace image names: the az CLI aliases and the URN shape.

Specs may name a marketplace image by URN (``publisher:offer:sku:version``) or
by one of the az CLI's aliases; the engine asks ``resolve_alias`` for the URN.
"""

from __future__ import annotations

import re

from imagepipe.spec.model import OsType

# alias -> (URN, OS type), as `az vm image list` names them.
ALIASES: dict[str, tuple[str, OsType]] = {
    "Ubuntu2204": ("Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest", "Linux"),
    "Ubuntu2404": ("Canonical:ubuntu-24_04-lts:server:latest", "Linux"),
    "Debian12": ("Debian:debian-12:12-gen2:latest", "Linux"),
    "RHELRaw9": ("RedHat:RHEL:9-lvm-gen2:latest", "Linux"),
    "Win2022AzureEdition": (
        "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition:latest",
        "Windows",
    ),
    "Win2022Datacenter": ("MicrosoftWindowsServer:WindowsServer:2022-datacenter:latest", "Windows"),
    "Win2019Datacenter": ("MicrosoftWindowsServer:WindowsServer:2019-datacenter-gensecond:latest", "Windows"),
}

# Marketplace images that are Generation 2 although their SKU does not say so.
_GEN2_SKUS = {"canonical:ubuntu-24_04-lts:server"}


def marketplace_generation(image: str) -> str:
    """V2 for a Gen2 (UEFI) marketplace image, V1 otherwise; Gen2 images are Trusted Launch capable."""
    urn = (resolve_alias(image) or image).lower()
    if ":".join(urn.split(":")[:3]) in _GEN2_SKUS or any(m in urn for m in ("gen2", "gensecond", "arm64")):
        return "V2"
    return "V1"


# Arm64 VM sizes carry a `p` in the letters after the vCPU count (Standard_D2ps_v5, Standard_B2pls_v2).
_SIZE = re.compile(r"^Standard_[A-Za-z]+\d+(?:-\d+)?([a-z]*)_v\d+$")


def marketplace_architecture(image: str) -> str:
    return "Arm64" if "arm64" in (resolve_alias(image) or image).lower() else "x64"


def size_architecture(size: str) -> str:
    match = _SIZE.match(size)
    return "Arm64" if match and "p" in match.group(1) else "x64"


URN_PATTERN = re.compile(r"^[^:\s]+:[^:\s]+:[^:\s]+:[^:\s]+$")
_WINDOWS_PUBLISHERS = {"microsoftwindowsserver", "microsoftwindowsdesktop", "microsoftsqlserver"}


def resolve_alias(name: str) -> str | None:
    """The marketplace URN behind an az CLI alias, or None if ``name`` is not one."""
    entry = ALIASES.get(name)
    return entry[0] if entry else None


def is_urn(image: str) -> bool:
    return bool(URN_PATTERN.match(image))


def is_capture_ref(image: str) -> bool:
    return "/" in image


def marketplace_os(image: str) -> OsType | None:
    """The OS of a marketplace alias or URN, when its publisher tells it."""
    if image in ALIASES:
        return ALIASES[image][1]
    if is_urn(image):
        publisher = image.split(":", 1)[0].lower()
        if publisher in _WINDOWS_PUBLISHERS:
            return "Windows"
        if publisher in {"canonical", "debian", "redhat", "suse", "almalinux", "openlogic", "oracle"}:
            return "Linux"
    return None
