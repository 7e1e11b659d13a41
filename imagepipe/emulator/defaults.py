"""The defaults Azure fills into VM and scale-set bodies, and what the guest agent reports.

A GET of a VM or scale set shows properties the request left out, set by Compute as
the swagger's x-ms-examples GET responses show them (VirtualMachine_Get,
VirtualMachineScaleSet_Create_FromACustomImage) and as the definitions document their
defaults (LinuxConfiguration, WindowsConfiguration, PatchSettings,
VirtualMachineScaleSetNetworkConfigurationProperties).
"""

from __future__ import annotations

import copy


def fill_os_profile(os_profile: dict, os_type: str, *, had_password: bool) -> dict:
    """`os_profile` (already without its secrets) with the OS configuration Azure defaults.

    disablePasswordAuthentication: a Linux account made without a password can only use
    its SSH keys, so Azure reports true; with a password, false (as the examples show).
    """
    out = copy.deepcopy(os_profile)
    if os_type == "Windows":
        windows = out.setdefault("windowsConfiguration", {})
        windows.setdefault("provisionVMAgent", True)
        windows.setdefault("enableAutomaticUpdates", True)
        patch = windows.setdefault("patchSettings", {})
        patch.setdefault("patchMode", "AutomaticByOS")
        patch.setdefault("assessmentMode", "ImageDefault")
        windows.setdefault("enableVMAgentPlatformUpdates", False)
        return out
    linux = out.setdefault("linuxConfiguration", {})
    linux.setdefault("disablePasswordAuthentication", not had_password)
    linux.setdefault("provisionVMAgent", True)
    patch = linux.setdefault("patchSettings", {})
    patch.setdefault("patchMode", "ImageDefault")
    patch.setdefault("assessmentMode", "ImageDefault")
    linux.setdefault("enableVMAgentPlatformUpdates", False)
    return out


def fill_scale_set(props: dict) -> None:
    """A scale set's placement and NIC configuration defaults, in place."""
    props.setdefault("singlePlacementGroup", True)
    profile = props.get("virtualMachineProfile") or {}
    configs = (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []
    for config in configs:
        nic = config.setdefault("properties", {})
        nic.setdefault("primary", len(configs) == 1)
        nic.setdefault("enableAcceleratedNetworking", False)
        nic.setdefault("enableIPForwarding", False)
        nic.setdefault("disableTcpStateTracking", False)
        nic.setdefault("dnsSettings", {"dnsServers": []})
        for ip in nic.get("ipConfigurations") or []:
            ip.setdefault("properties", {}).setdefault("privateIPAddressVersion", "IPv4")


def fill_safety_profile(safety: dict | None) -> dict:
    """A gallery image version's safetyProfile with its defaults and read-only flags
    (GalleryImageVersionSafetyProfile; GalleryImageVersion_Get_WithReplicationStatus)."""
    out = {"allowDeletionOfReplicatedLocations": True, "blockDeletionBeforeEndOfLife": False}
    out.update(copy.deepcopy(safety or {}))
    out["reportedForPolicyViolation"] = False  # read-only: nothing reports the emulator's images
    return out


# What the guest agent reports of the marketplace images the catalogue holds: (offer, sku prefix)
# -> (osName, osVersion), as an instance view shows them.
_GUEST_OS = {
    ("0001-com-ubuntu-server-jammy", ""): ("ubuntu", "22.04"),
    ("0001-com-ubuntu-server-focal", ""): ("ubuntu", "20.04"),
    ("ubuntu-24_04-lts", ""): ("ubuntu", "24.04"),
    ("debian-12", ""): ("debian", "12"),
    ("rhel", "9"): ("redhat", "9.5"),
    ("windowsserver", "2025"): ("Windows Server 2025 Datacenter", "Microsoft Windows NT 10.0.26100.0"),
    ("windowsserver", "2022"): ("Windows Server 2022 Datacenter", "Microsoft Windows NT 10.0.20348.0"),
    ("windowsserver", "2019"): ("Windows Server 2019 Datacenter", "Microsoft Windows NT 10.0.17763.0"),
}


def guest_os(os_type: str, reference: dict) -> tuple[str, str]:
    """The (osName, osVersion) a VM's guest agent reports: from its marketplace image, else
    the OS family alone (a custom image does not say which distribution it holds)."""
    offer = str(reference.get("offer") or "").lower()
    sku = str(reference.get("sku") or "").lower()
    for (known_offer, sku_prefix), answer in _GUEST_OS.items():
        if offer == known_offer and sku.startswith(sku_prefix):
            return answer
    if os_type == "Windows":
        return ("Windows Server", "Microsoft Windows NT 10.0")
    return ("Linux", "")
