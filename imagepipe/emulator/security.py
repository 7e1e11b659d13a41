"""Security types along the image chain: Trusted Launch by default for Gen2, and what fits what.

Azure's rules (cited in docs/emulator.md, "Security types"):
- a new Gen2 VM or scale set without `securityProfile` is Trusted Launch (Secure Boot and vTPM
  on); Gen1 is Standard; from API version 2025-11-01 Standard is reported explicitly;
- a new Gen2 gallery image definition without a `SecurityType` feature is TrustedLaunchSupported;
- a managed image cannot hold a Trusted Launch or Confidential VM (nor an Arm64 one);
- an image, definition or disk says which VM security types it can boot (`capability`).
"""

from __future__ import annotations

import re

from imagepipe.emulator.errors import ArmError, invalid, not_allowed

TRUSTED_LAUNCH_DEFAULT_FROM = "2025-11-01"  # the API versions that apply and report the defaults

STANDARD, TRUSTED_LAUNCH, CONFIDENTIAL = "Standard", "TrustedLaunch", "ConfidentialVM"
VM_TYPES = (STANDARD, TRUSTED_LAUNCH, CONFIDENTIAL)

# A gallery image definition's SecurityType feature (also an image's capability) -> the VM
# security types it can create.
CAPABILITIES: dict[str, frozenset[str]] = {
    "Standard": frozenset({STANDARD}),
    "TrustedLaunchSupported": frozenset({STANDARD, TRUSTED_LAUNCH}),
    "TrustedLaunch": frozenset({TRUSTED_LAUNCH}),
    "ConfidentialVmSupported": frozenset({STANDARD, CONFIDENTIAL}),
    "ConfidentialVM": frozenset({CONFIDENTIAL}),
    "TrustedLaunchAndConfidentialVmSupported": frozenset({STANDARD, TRUSTED_LAUNCH, CONFIDENTIAL}),
}
DISK_TYPES = (  # a disk's securityProfile.securityType (DiskRP's DiskSecurityTypes)
    "TrustedLaunch",
    "ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey",
    "ConfidentialVM_DiskEncryptedWithPlatformKey",
    "ConfidentialVM_DiskEncryptedWithCustomerKey",
    "ConfidentialVM_NonPersistedTPM",
)
_CAPABILITY_BY_LOWER = {k.lower(): k for k in CAPABILITIES}

MANAGED_IMAGE_REFUSED = (
    "Creation of managed images are not supported for virtual machine with {0} security type."
)
ONLY_SUPPORTS = (
    "The provided gallery image only supports creation of VMs and VM Scale Sets with '{0}' security type."
)

# Arm64 sizes carry a `p` in the letters after the vCPU count (Standard_D2ps_v5, Standard_B2pls_v2).
_SIZE = re.compile(r"^Standard_[A-Za-z]+\d+(?:-\d+)?([a-z]*)_v\d+$")
# Confidential VM sizes: the DCasv5/DCadsv5/ECasv5/ECadsv5 families (and their successors).
_CONFIDENTIAL_SIZE = re.compile(r"^Standard_(DC|EC)\d+a[a-z]*_v[5-9]$", re.IGNORECASE)


def applies_defaults(api_version: str) -> bool:
    return api_version >= TRUSTED_LAUNCH_DEFAULT_FROM


def size_architecture(size: str) -> str:
    match = _SIZE.match(size or "")
    return "Arm64" if match and "p" in match.group(1) else "x64"


def capability(value: str | None) -> str:
    """The canonical SecurityType feature value ("Standard" when absent), or Azure's 400."""
    if not value:
        return "Standard"
    known = _CAPABILITY_BY_LOWER.get(str(value).lower())
    if known is None:
        raise invalid(
            f"The value '{value}' of the gallery image feature 'SecurityType' is invalid. Allowed values: "
            f"{', '.join(k for k in CAPABILITIES if k != 'Standard')}.",
            "features.SecurityType",
        )
    return known


def definition_capability(definition: dict) -> str:
    for feature in definition["properties"].get("features") or []:
        if str(feature.get("name", "")).lower() == "securitytype":
            return capability(feature.get("value"))
    return "Standard"


def vm_type(props: dict) -> str:
    """The security type a stored VM (or scale set model) was created with."""
    return ((props.get("securityProfile") or {}).get("securityType")) or STANDARD


def disk_vm_type(disk_props: dict) -> str:
    """The VM security type a disk (or snapshot) belongs to: Standard unless its securityProfile says."""
    value = str((disk_props.get("securityProfile") or {}).get("securityType") or "")
    if value.lower() == "trustedlaunch":
        return TRUSTED_LAUNCH
    if value.lower().startswith("confidentialvm"):
        return CONFIDENTIAL
    return STANDARD


def security_profile(
    profile_in: dict | None,
    *,
    capability_of_source: str,
    hyper_v: str,
    architecture: str,
    size: str,
    api_version: str,
    what: str,
) -> dict | None:
    """The securityProfile a new VM or scale set gets, or Azure's refusal.

    `capability_of_source` is what its image, definition or disk can boot; `what` names that
    source in messages.
    """
    profile = dict(profile_in or {})
    wanted = profile.get("securityType")
    if wanted is not None and wanted not in VM_TYPES:
        raise invalid(
            f"The value '{wanted}' of parameter 'securityProfile.securityType' is invalid. "
            f"Allowed values: {', '.join(VM_TYPES)}.",
            "securityProfile.securityType",
        )
    allowed = CAPABILITIES[capability_of_source]
    if wanted is None:
        if not applies_defaults(api_version) or hyper_v != "V2":
            wanted = STANDARD
        elif allowed == {CONFIDENTIAL}:
            wanted = CONFIDENTIAL
        elif TRUSTED_LAUNCH in allowed and allowed != {STANDARD, CONFIDENTIAL}:
            wanted = TRUSTED_LAUNCH
        else:
            wanted = STANDARD
        defaulted = True
    else:
        defaulted = False
    if wanted != STANDARD and hyper_v != "V2":
        raise invalid(
            f"Use of {wanted} setting is not supported for the provided image: {what} is a Generation 1 (V1) "
            "image. Please select a Trusted Launch supported Gen2 OS image. For more information, see "
            "https://aka.ms/TrustedLaunch-FAQ.",
            "securityProfile.securityType",
        )
    if wanted not in allowed:
        if allowed == {TRUSTED_LAUNCH} or allowed == {CONFIDENTIAL}:
            raise invalid(ONLY_SUPPORTS.format(next(iter(allowed))), "securityProfile.securityType")
        raise invalid(
            f"The security type '{wanted}' is not supported by {what}, which supports: "
            f"{', '.join(sorted(allowed))}.",
            "securityProfile.securityType",
        )
    if wanted == CONFIDENTIAL and not _CONFIDENTIAL_SIZE.match(size or ""):
        raise invalid(
            f"The VM size '{size}' does not support security type 'ConfidentialVM'; use a confidential "
            "size (DCasv5, DCadsv5, ECasv5 or ECadsv5 series).",
            "hardwareProfile.vmSize",
        )
    uefi = profile.get("uefiSettings")
    if wanted == STANDARD:
        if uefi and (uefi.get("secureBootEnabled") or uefi.get("vTpmEnabled")):
            raise invalid(
                "'securityProfile.uefiSettings' can be set only when 'securityProfile.securityType' is "
                "TrustedLaunch or ConfidentialVM.",
                "securityProfile.uefiSettings",
            )
        profile.pop("uefiSettings", None)
        if defaulted and not applies_defaults(api_version):
            return profile or None  # older API versions leave a Standard VM without a securityType
    else:
        profile["uefiSettings"] = {
            "secureBootEnabled": True,
            "vTpmEnabled": True,
            **(uefi or {}),
        }
    profile["securityType"] = wanted
    check_architecture(architecture, size, what)
    return profile


def check_architecture(architecture: str, size: str, what: str) -> None:
    if size and size_architecture(size) != architecture:
        raise invalid(
            f"The VM size '{size}' is an {size_architecture(size)} size and cannot boot {what}, whose "
            f"architecture is {architecture}. Choose an {architecture} VM size.",
            "hardwareProfile.vmSize",
        )


def check_managed_image_source(vm_security_type: str, architecture: str) -> None:
    """Managed images hold neither Trusted Launch or Confidential VMs nor Arm64 ones (Azure's 409)."""
    if vm_security_type != STANDARD:
        raise not_allowed(MANAGED_IMAGE_REFUSED.format(vm_security_type))
    if architecture == "Arm64":
        raise not_allowed(
            "Creation of managed images is not supported for Arm64 virtual machines; capture the VM to an "
            "Azure Compute Gallery image version instead."
        )


def check_version_source(source_type: str, from_vm: bool, definition: dict) -> None:
    """A gallery image version's source must be a security type its definition is made for."""
    name = definition["name"]
    held = definition_capability(definition)
    if from_vm and source_type == TRUSTED_LAUNCH and held == "TrustedLaunchSupported":
        raise invalid(
            f"The security type 'TrustedLaunchSupported' of gallery image '{name}' is not supported for a "
            "virtual machine source with security type 'TrustedLaunch'. Currently only Vhd Blob, User Image and "
            "Gallery Image Version sources are supported for 'TrustedLaunchSupported' images; capture a "
            "Trusted Launch VM into an image definition with the 'SecurityType' feature 'TrustedLaunch'.",
            "storageProfile.source",
        )
    if from_vm and source_type != STANDARD:
        fits = held in (source_type, "TrustedLaunchAndConfidentialVmSupported")
    else:
        fits = source_type in CAPABILITIES[held]
    if not fits:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The source's security type '{source_type}' does not match the security type '{held}' of gallery "
            f"image '{name}'. Create the version in an image definition whose 'SecurityType' feature fits its source.",
            "storageProfile.source",
        )


def disk_security_profile(
    props_in: dict, inherited: dict | None, hyper_v: str | None, what: str
) -> dict | None:
    """A new disk's or snapshot's securityProfile: the one of what it copies, never another."""
    given = props_in.get("securityProfile") or None
    value = (given or {}).get("securityType")
    if value is not None and value not in DISK_TYPES:
        raise invalid(
            f"The value '{value}' of parameter 'securityProfile.securityType' is invalid. Allowed values: "
            f"{', '.join(DISK_TYPES)}.",
            "securityProfile.securityType",
        )
    if inherited:
        if given and disk_vm_type(given) != disk_vm_type(inherited):
            raise invalid(
                f"The security type of {what} is '{disk_vm_type(inherited)}'; a disk or snapshot made from it "
                f"keeps it and cannot be '{given.get('securityType')}'.",
                "securityProfile.securityType",
            )
        return dict(inherited)
    if given:
        if disk_vm_type(given) != STANDARD and hyper_v != "V2":
            raise invalid(
                "A disk with security type 'TrustedLaunch' or 'ConfidentialVM' must be hyperVGeneration V2.",
                "securityProfile.securityType",
            )
        return dict(given)
    return None


def os_disk_profile(vm_security_type: str) -> dict | None:
    """The securityProfile of an OS disk Azure makes for a VM of this security type."""
    if vm_security_type == TRUSTED_LAUNCH:
        return {"securityType": "TrustedLaunch"}
    if vm_security_type == CONFIDENTIAL:
        return {"securityType": "ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey"}
    return None


def supported_option(capability_of_image: str) -> str | None:
    """A disk made from an image inherits what the image supports (Trusted Launch as default)."""
    allowed = CAPABILITIES[capability_of_image]
    if TRUSTED_LAUNCH in allowed and CONFIDENTIAL in allowed:
        return "TrustedLaunchAndConfidentialVMSupported"
    if TRUSTED_LAUNCH in allowed:
        return "TrustedLaunchSupported"
    return None


def attached_capability(disk_props: dict) -> str:
    """What an existing OS disk can boot: exactly the security type it was made with."""
    kind = disk_vm_type(disk_props)
    return {STANDARD: "Standard", TRUSTED_LAUNCH: "TrustedLaunch", CONFIDENTIAL: "ConfidentialVM"}[kind]
