"""Well-known identities of the emulator and helpers for ARM resource ids."""

from __future__ import annotations

SUBSCRIPTION_ID = "00000000-0000-4000-8000-00000000a2a2"
TENANT_ID = "00000000-0000-4000-8000-0000000071e7"
CLIENT_ID = "00000000-0000-4000-8000-00000000c11e"
DEFAULT_CLIENT_SECRET = "imagepipe-emulator-secret"
SUBSCRIPTION_NAME = "imagepipe emulator"
# The regions the subscription lists (and the providers offer their types in).
LOCATIONS = (
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northeurope",
    "westeurope",
    "uksouth",
    "southeastasia",
    "australiaeast",
    "japaneast",
)


def key(resource_id: str) -> str:
    """Resource ids are case-insensitive in ARM: this is the form used for lookups."""
    return resource_id.rstrip("/").lower()


def group_id(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def parent_of(resource_id: str) -> str:
    """The id of the resource that contains a child resource (or the resource group)."""
    parts = resource_id.strip("/").split("/")
    if len(parts) > 8:
        return "/" + "/".join(parts[:-2])
    return "/" + "/".join(parts[:4])


def name_of(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def split(resource_id: str) -> dict[str, str]:
    """subscription, resource group, provider type and name of an ARM id (empty strings when absent)."""
    parts = resource_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    out = {"subscription": "", "group": "", "type": "", "name": ""}
    if len(parts) >= 2 and lower[0] == "subscriptions":
        out["subscription"] = parts[1]
    if len(parts) >= 4 and lower[2] == "resourcegroups":
        out["group"] = parts[3]
    if len(parts) >= 8 and lower[4] == "providers":
        namespace = parts[5]
        rest = parts[6:]
        out["type"] = namespace + "/" + "/".join(rest[0::2])
        out["name"] = rest[-1] if len(rest) % 2 == 0 else ""
    return out


def normalize_location(location: str) -> str:
    """ARM stores regions in their short form: 'West US 2' -> 'westus2'."""
    return location.replace(" ", "").lower()
