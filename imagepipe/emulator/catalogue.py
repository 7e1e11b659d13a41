"""The marketplace images the emulator knows, behind the az CLI's aliases."""

from __future__ import annotations

from dataclasses import dataclass

from imagepipe.emulator.errors import ArmError


@dataclass(frozen=True)
class PlatformImage:
    publisher: str
    offer: str
    sku: str
    versions: tuple[str, ...]
    os_type: str  # Linux | Windows
    hyper_v_generation: str  # V1 | V2
    alias: str | None = None
    os_disk_gb: int = 30
    architecture: str = "x64"  # x64 | Arm64
    # The image's SecurityType: every Gen2 image here is Trusted Launch capable
    # (TrustedLaunchSupported); Gen1 images can only make Standard VMs.
    security: str | None = None

    @property
    def capability(self) -> str:
        return self.security or ("TrustedLaunchSupported" if self.hyper_v_generation == "V2" else "Standard")

    @property
    def latest(self) -> str:
        return max(self.versions, key=lambda v: tuple(int(p) for p in v.split(".")))

    def urn(self, version: str | None = None) -> str:
        return f"{self.publisher}:{self.offer}:{self.sku}:{version or self.latest}"


CATALOGUE: tuple[PlatformImage, ...] = (
    PlatformImage(
        "Canonical",
        "0001-com-ubuntu-server-jammy",
        "22_04-lts-gen2",
        ("22.04.202410020", "22.04.202502110"),
        "Linux",
        "V2",
        "Ubuntu2204",
    ),
    PlatformImage(
        "Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts", ("22.04.202502110",), "Linux", "V1"
    ),
    PlatformImage(
        "Canonical",
        "0001-com-ubuntu-server-jammy",
        "22_04-lts-arm64",
        ("22.04.202502110",),
        "Linux",
        "V2",
        architecture="Arm64",
    ),
    PlatformImage(
        "Canonical",
        "ubuntu-24_04-lts",
        "server",
        ("24.04.202409120", "24.04.202502210"),
        "Linux",
        "V2",
        "Ubuntu2404",
    ),
    PlatformImage(
        "Debian", "debian-12", "12-gen2", ("0.20250113.1987", "0.20250224.2031"), "Linux", "V2", "Debian12"
    ),
    PlatformImage(
        "RedHat", "RHEL", "9-lvm-gen2", ("9.4.2024081415", "9.5.2024112114"), "Linux", "V2", "RHELRaw9", 64
    ),
    PlatformImage(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2022-datacenter-azure-edition",
        ("20348.3207.250210",),
        "Windows",
        "V2",
        "Win2022AzureEdition",
        127,
    ),
    PlatformImage(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2022-datacenter",
        ("20348.3207.250210",),
        "Windows",
        "V1",
        "Win2022Datacenter",
        127,
    ),
    PlatformImage(
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2019-datacenter-gensecond",
        ("17763.6893.250210",),
        "Windows",
        "V2",
        "Win2019Datacenter",
        127,
    ),
)

ALIASES = {image.alias.lower(): image for image in CATALOGUE if image.alias}


def resolve(reference: dict) -> tuple[PlatformImage, str]:
    """The catalogue entry and exact version of an imageReference, or Azure's 404."""
    publisher = str(reference.get("publisher") or "")
    offer = str(reference.get("offer") or "")
    sku = str(reference.get("sku") or "")
    version = str(reference.get("version") or "latest")
    for image in CATALOGUE:
        if (image.publisher.lower(), image.offer.lower(), image.sku.lower()) == (
            publisher.lower(),
            offer.lower(),
            sku.lower(),
        ):
            if version.lower() == "latest":
                return image, image.latest
            if version in image.versions:
                return image, version
            break
    raise ArmError(
        404,
        "PlatformImageNotFound",
        f"The platform image '{publisher}:{offer}:{sku}:{version}' is not available. "
        "Verify that all fields in the storage profile are correct. For more details about storage profile "
        "information, please refer to https://aka.ms/storageprofile",
    )


def find(publisher: str, offer: str | None = None, sku: str | None = None) -> list[PlatformImage]:
    return [
        i
        for i in CATALOGUE
        if i.publisher.lower() == publisher.lower()
        and (offer is None or i.offer.lower() == offer.lower())
        and (sku is None or i.sku.lower() == sku.lower())
    ]
