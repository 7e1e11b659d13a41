"""The admin account and image reference of a VM or scale-set profile: Azure's synchronous checks."""

from __future__ import annotations

import copy
import re

from imagepipe.emulator.errors import ArmError, invalid

_PASSWORD_CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
_WEAK_PASSWORDS = {
    "abc@123",
    "p@$$w0rd",
    "p@ssw0rd",
    "p@ssword123",
    "pa$$word",
    "pass@word1",
    "password!",
    "password1",
    "password22",
    "iloveyou!",
}


def check_credentials(os_type: str, os_profile: dict) -> None:
    """Azure's synchronous checks of the admin account of a VM or scale set created from an image."""
    if not os_profile.get("adminUsername"):
        raise invalid(
            "Required parameter 'osProfile.adminUsername' is missing (null).", "osProfile.adminUsername"
        )
    password = os_profile.get("adminPassword")
    if os_type == "Windows":
        ok = (
            isinstance(password, str)
            and 8 <= len(password) <= 123
            and sum(bool(re.search(c, password)) for c in _PASSWORD_CLASSES) >= 3
            and password.lower() not in _WEAK_PASSWORDS
        )
        if not ok:
            raise invalid(
                "The supplied password must be between 8-123 characters long and must satisfy at least 3 of password "
                "complexity requirements from the following: 1) Contains an uppercase character 2) Contains a lowercase "
                "character 3) Contains a numeric digit 4) Contains a special character 5) Control characters are not allowed",
                "adminPassword",
            )
        return
    linux = os_profile.get("linuxConfiguration") or {}
    keys = ((linux.get("ssh") or {}).get("publicKeys")) or []
    password_allowed = not linux.get("disablePasswordAuthentication", bool(keys))
    if not keys and not (password and password_allowed):
        raise invalid(
            "Authentication using either SSH or by user name and password must be enabled in Linux profile.",
            "linuxConfiguration",
        )
    for key in keys:
        data = str(key.get("keyData") or "")
        if not data.startswith(("ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-")):
            raise ArmError(
                400,
                "InvalidParameter",
                "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.",
                "linuxConfiguration.ssh.publicKeys.keyData",
            )


def check_computer_name(os_type: str, name: str) -> None:
    """Windows computer names are NetBIOS names: at most 15 characters (Linux: 64)."""
    limit = 15 if os_type == "Windows" else 64
    if len(name) > limit:
        raise invalid(
            f"The value of parameter osProfile.computerName is invalid: '{name}' is longer than {limit} characters, "
            f"the limit for {os_type} computer names.",
            "computerName",
        )


def scrub_os_profile(os_profile: dict) -> dict:
    """Azure never returns the admin password; the emulator never stores it."""
    out = copy.deepcopy(os_profile)
    out.pop("adminPassword", None)
    out.pop("customData", None)
    out.setdefault("secrets", [])
    out.setdefault("allowExtensionOperations", True)
    out.setdefault("requireGuestProvisionSignal", True)
    return out


def same_reference(a: dict, b: dict) -> bool:
    """Whether two imageReferences name the same image (by id, else by publisher/offer/sku)."""
    if a.get("id") or b.get("id"):
        return (a.get("id") or "").lower() == (b.get("id") or "").lower()
    return all((a.get(k) or "").lower() == (b.get(k) or "").lower() for k in ("publisher", "offer", "sku"))
