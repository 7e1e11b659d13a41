"""The api-versions each resource type accepts, and ARM's answers to a missing or unknown one.

ARM routes a request by its resource type and api-version: a request without one is
refused (MissingApiVersionParameter), and one with a version the type does not publish
is refused by Resource Manager itself (InvalidApiVersionParameter, for its own
Microsoft.Resources types) or for want of a provider (NoRegisteredProviderFound).
The lists are the versions published in Azure/azure-rest-api-specs for each API
family (Compute, DiskRP, GalleryRP, Network, Resources, Subscriptions), newest
first, as the provider's resourceTypes list them. Every version the pinned
azure-mgmt-* clients and the az CLI send is among them.
"""

from __future__ import annotations

from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.ids import LOCATIONS


def _versions(text: str) -> list[str]:
    return text.split()


_COMPUTE = _versions(
    "2026-04-01 2026-03-01 2025-11-01 2025-04-01 2024-11-01 2024-07-01 2024-03-01 2023-09-01 "
    "2023-07-01 2023-03-01 2022-11-01 2022-08-01 2022-03-01 2021-11-01 2021-07-01 2021-04-01 "
    "2021-03-01 2020-12-01 2020-06-01 2019-12-01 2019-07-01 2019-03-01 2018-10-01 2018-06-01 "
    "2018-04-01 2017-12-01 2017-03-30 2016-08-30 2016-04-30-preview 2016-03-30 2015-06-15"
)
_DISKS = _versions(
    "2026-03-02 2025-01-02 2024-03-02 2023-10-02 2023-04-02 2023-01-02 2022-07-02 2022-03-02 "
    "2021-12-01 2021-08-01 2021-04-01 2020-12-01 2020-09-30 2020-06-30 2020-05-01 2019-11-01 "
    "2019-07-01 2019-03-01 2018-09-30 2018-06-01 2018-04-01 2017-03-30 2016-04-30-preview"
)
_GALLERY = _versions(
    "2026-03-03 2025-12-03 2025-03-03 2024-03-03 2023-07-03 2022-08-03 2022-03-03 2022-01-03 "
    "2021-10-01 2021-07-01 2020-09-30 2019-12-01 2019-07-01 2019-03-01 2018-06-01"
)
_NETWORK = _versions(
    "2026-03-01 2025-07-01 2025-05-01 2025-03-01 2025-01-01 2024-10-01 2024-07-01 2024-05-01 "
    "2024-03-01 2024-01-01 2023-11-01 2023-09-01 2023-06-01 2023-05-01 2023-04-01 2023-02-01 "
    "2022-11-01 2022-09-01 2022-07-01 2022-05-01 2022-01-01 2021-08-01 2021-05-01 2021-03-01 "
    "2021-02-01 2020-11-01 2020-08-01 2020-07-01 2020-06-01 2020-05-01 2020-04-01 2020-03-01 "
    "2019-12-01 2019-11-01 2019-09-01 2019-08-01 2019-07-01 2019-06-01 2019-04-01 2019-02-01 "
    "2018-12-01 2018-11-01 2018-10-01 2018-08-01 2018-07-01 2018-06-01 2018-04-01 2018-02-01 "
    "2018-01-01 2017-11-01 2017-10-01 2017-09-01 2017-08-01 2017-06-01 2017-04-01 2017-03-01 "
    "2016-12-01 2016-11-01 2016-10-01 2016-09-01 2016-08-01 2016-07-01 2016-06-01 2016-03-30 "
    "2015-06-15 2015-05-01-preview"
)
_RESOURCES = _versions(
    "2026-06-01 2025-04-01 2025-03-01 2024-11-01 2024-07-01 2024-03-01 2023-07-01 2022-09-01 "
    "2021-04-01 2021-01-01 2020-10-01 2020-08-01 2020-06-01 2019-10-01 2019-08-01 2019-07-01 "
    "2019-05-10 2019-05-01 2019-03-01 2018-05-01 2018-02-01 2017-05-10 2016-09-01 2016-07-01 "
    "2016-02-01 2015-11-01 2015-01-01 2014-04-01-preview"
)
_SUBSCRIPTIONS = _versions(
    "2024-08-01 2022-12-01 2021-01-01 2020-01-01 2019-11-01 2019-06-01 2018-06-01 2016-06-01 "
    "2015-01-01 2014-04-01-preview"
)

# Subscription-level calls are also answered in the Resources API's versions.
_SUBSCRIPTION_LEVEL = sorted({*_SUBSCRIPTIONS, *_RESOURCES}, reverse=True)
RESOURCES_NAMESPACE = "microsoft.resources"
# (namespace/top-level type, lower case) -> versions; a namespace alone is its types' default.
_BY_TYPE: dict[str, list[str]] = {
    "microsoft.compute": _COMPUTE,
    "microsoft.compute/disks": _DISKS,
    "microsoft.compute/snapshots": _DISKS,
    "microsoft.compute/diskaccesses": _DISKS,
    "microsoft.compute/diskencryptionsets": _DISKS,
    "microsoft.compute/galleries": _GALLERY,
    # Restore points are Compute's; their disk restore points are DiskRP's.
    "microsoft.compute/restorepointcollections": sorted({*_COMPUTE, *_DISKS}, reverse=True),
    # Operation status URLs of all three Compute APIs live under locations/{l}/operations.
    "microsoft.compute/locations": sorted({*_COMPUTE, *_DISKS, *_GALLERY}, reverse=True),
    "microsoft.network": _NETWORK,
    "microsoft.resources": _RESOURCES,
    "microsoft.resources/subscriptions": _SUBSCRIPTION_LEVEL,
    "microsoft.resources/tenants": _SUBSCRIPTION_LEVEL,
    "microsoft.resources/locations": _SUBSCRIPTION_LEVEL,
}


def supported(arm_type: str) -> list[str]:
    """The versions `arm_type` ("Namespace/type[/child...]") accepts, newest first."""
    parts = arm_type.lower().split("/")
    return _BY_TYPE.get("/".join(parts[:2])) or _BY_TYPE.get(parts[0], [])


def type_of(segments: list[str]) -> str:
    """The ARM type a request path addresses ("Microsoft.Compute/virtualMachines/...")."""
    low = [s.lower() for s in segments]
    if not low or low[0] != "subscriptions":
        return "Microsoft.Resources/tenants"
    if len(low) <= 2:
        return "Microsoft.Resources/subscriptions"
    if low[2] == "locations":
        return "Microsoft.Resources/locations"
    if "providers" not in low[2:]:
        if len(low) >= 5 and low[2] == "resourcegroups" and low[4] == "deployments":
            return "Microsoft.Resources/deployments"
        return "Microsoft.Resources/" + ("resourceGroups" if low[2] == "resourcegroups" else segments[2])
    at = len(low) - 1 - low[::-1].index("providers")
    tail = segments[at + 1 :]
    if len(tail) <= 1 or (len(tail) == 2 and low[-1] == "register"):
        return "Microsoft.Resources/providers"
    return "/".join([tail[0], *tail[1::2]])


def check(arm_type: str, api_version: str | None, location: str | None = None) -> None:
    """Raise ARM's 400 when `api_version` is missing or not one `arm_type` supports."""
    if not api_version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    versions = supported(arm_type)
    if not versions or api_version.lower() in versions:
        return
    namespace, _, type_path = arm_type.partition("/")
    type_name = type_path.split("/")[0]
    listed = ",".join(versions)
    if namespace.lower() == RESOURCES_NAMESPACE:
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{api_version}' is invalid. The supported versions are '{listed}'. "
            "Please see https://aka.ms/api-upgrade for more details.",
        )
    raise ArmError(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location or 'global'}' and API version "
        f"'{api_version}' for type '{type_name}'. The supported api-versions are '{', '.join(versions)}'. "
        f"The supported locations are '{', '.join(LOCATIONS)}'.",
    )
