"""A VM's networkProfile: references to NICs made beforehand, or NIC configurations Azure turns into NICs.

With `networkInterfaceConfigurations` (compute api-version 2021-03-01 and later, together with
`networkApiVersion`) one VM PUT makes its NICs too: a fan-out of N VMs costs N ARM writes, not 2N.
Everything is checked before anything is written (`plan`); the NICs are written when the VM create
is accepted (`attach`), through the NIC kind's own property builder.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from imagepipe.emulator import ids
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError, invalid, property_change
from imagepipe.emulator.kinds.base import check_resource_name
from imagepipe.emulator.kinds.network import NETWORK_INTERFACES, invalid_reference
from imagepipe.emulator.types import NIC

NETWORK_API_VERSIONS = ("2020-11-01", "2022-11-01")
_DELETE_OPTIONS = {"delete": "Delete", "detach": "Detach"}
_CONFIGS = "networkProfile.networkInterfaceConfigurations"
# Properties of a configuration (and of its ipConfigurations) that the NIC it becomes carries over.
_NIC_PROPERTIES = (
    "enableAcceleratedNetworking",
    "enableIPForwarding",
    "disableTcpStateTracking",
    "networkSecurityGroup",
    "dnsSettings",
    "auxiliaryMode",
    "auxiliarySku",
)
_IP_PROPERTIES = (
    "subnet",
    "primary",
    "privateIPAddressVersion",
    "applicationSecurityGroups",
    "loadBalancerBackendAddressPools",
    "applicationGatewayBackendAddressPools",
)


@dataclass
class NetworkPlan:
    """What a VM create attaches, decided before anything is written."""

    profile: dict  # the networkProfile the VM stores
    attach: list[dict] = field(default_factory=list)  # existing NIC documents to link to the VM
    make: list[tuple[str, dict]] = field(default_factory=list)  # (NIC id, NIC PUT body) Azure writes


# create --------------------------------------------------------------------------------------------
def plan(ctx: Ctx, vm: dict, profile_in: dict | None) -> NetworkPlan:
    """Check a new VM's networkProfile (400s as Azure gives them); nothing is written yet."""
    profile = copy.deepcopy(profile_in or {})
    refs = profile.get("networkInterfaces") or []
    configs = profile.get("networkInterfaceConfigurations") or []
    if refs and configs:
        raise invalid(
            "Parameters 'networkProfile.networkInterfaces' and 'networkProfile.networkInterfaceConfigurations' "
            "cannot both be specified: reference existing network interfaces or describe the ones to create.",
            "networkProfile",
        )
    if configs:
        return _plan_configurations(ctx, vm, profile, configs)
    if not refs:
        raise invalid("Required parameter 'networkProfile' is missing (null).", "networkProfile")
    return NetworkPlan(profile=profile, attach=[_referenced_nic(ctx, vm, ref) for ref in refs])


def attach(ctx: Ctx, network: NetworkPlan, vm_id: str) -> None:
    """Link the NICs to the VM, making the configured ones (when the VM create is accepted)."""
    for nic in network.attach:
        nic["properties"]["virtualMachine"] = {"id": vm_id}
        ctx.store.put(nic)
    for nic_id, body in network.make:
        NETWORK_INTERFACES.put_implicit(ctx, nic_id, body, vm_id)


def _referenced_nic(ctx: Ctx, vm: dict, ref: dict) -> dict:
    nic_id = ref.get("id") or ""
    nic = ctx.store.get(nic_id)
    if nic is None or nic["type"] != NIC:
        raise invalid_reference(nic_id, vm["id"])
    if nic["location"] != vm["location"]:
        raise invalid(
            f"The network interface '{nic['id']}' is in location '{nic['location']}', not in the VM's location '{vm['location']}'.",
            "networkProfile.networkInterfaces",
        )
    _check_not_used_elsewhere(nic, vm["id"])
    return nic


def _check_not_used_elsewhere(nic: dict, vm_id: str) -> None:
    owner = (nic["properties"].get("virtualMachine") or {}).get("id")
    if owner and owner.lower() != vm_id.lower():
        raise ArmError(
            400,
            "NicInUse",
            f"Network Interface {nic['id']} is used by existing resource {owner}. "
            "In order to use the network interface, it must be dissociated from that resource.",
        )


def _plan_configurations(ctx: Ctx, vm: dict, profile: dict, configs: list) -> NetworkPlan:
    version = _network_api_version(profile.get("networkApiVersion"))
    normalised = normalise(configs, vm["name"])
    network = NetworkPlan(profile={})
    refs = []
    for config in normalised:
        nic_id = _nic_id(vm["id"], config["name"])
        existing = ctx.store.get(nic_id)
        if existing is not None:
            _check_not_used_elsewhere(existing, vm["id"])
        if existing is not None and existing["properties"].get("virtualMachine"):
            network.attach.append(existing)  # already this VM's (a create retried): reused as it is
        else:
            body = nic_body(vm["location"], config)
            _check_overwritable(existing, vm["location"])
            NETWORK_INTERFACES.check_body(ctx, {"id": nic_id, "location": vm["location"]}, body)
            network.make.append((nic_id, body))
        nic_props = config["properties"]
        refs.append(
            {
                "id": existing["id"] if existing else nic_id,
                "properties": {"primary": nic_props["primary"], "deleteOption": nic_props["deleteOption"]},
            }
        )
    network.profile = {
        "networkApiVersion": version,
        "networkInterfaceConfigurations": normalised,
        "networkInterfaces": refs,
    }
    return network


def _network_api_version(version: object) -> str:
    target = "networkProfile.networkApiVersion"
    if not version:
        raise invalid(
            f"Required parameter '{target}' is missing (null). It must be set when "
            f"'{_CONFIGS}' is specified.",
            target,
        )
    if version not in NETWORK_API_VERSIONS:
        raise invalid(
            f"The value '{version}' of parameter '{target}' is invalid. "
            f"Allowed values are: {', '.join(NETWORK_API_VERSIONS)}.",
            target,
        )
    return str(version)


def _check_overwritable(existing: dict | None, location: str) -> None:
    """An unattached NIC of the configuration's name is overwritten, unless it cannot be."""
    if existing is None:
        return
    if existing["location"] != location:
        raise ArmError(
            400,
            "InvalidResourceLocation",
            f"The resource '{existing['name']}' already exists in location '{existing['location']}' in resource "
            f"group. A resource with the same name cannot be created in location '{location}'.",
        )
    if existing["properties"].get("provisioningState") == "Deleting":
        # Its pending delete would remove the NIC from under the new VM.
        raise ArmError(
            409,
            "AnotherOperationInProgress",
            f"Another operation on this or dependent resource is in progress. Network interface {existing['id']} "
            "is being deleted.",
        )


def _nic_id(vm_id: str, name: str) -> str:
    """A configuration's NIC lives in the VM's resource group."""
    parts = ids.split(vm_id)
    return f"{ids.group_id(parts['subscription'], parts['group'])}/providers/{NIC}/{name}"


# shapes ------------------------------------------------------------------------------------------
def normalise(configs: list, vm_name: str) -> list[dict]:
    """The configurations as the VM stores and returns them: defaults filled, values checked."""
    if not isinstance(configs, list):
        raise invalid(f"The value of parameter {_CONFIGS} is invalid.", _CONFIGS)
    explicit_primary = any((c.get("properties") or {}).get("primary") for c in configs)
    out: list[dict] = []
    seen: set[str] = set()
    for index, config in enumerate(configs):
        where = f"{_CONFIGS}[{index}]"
        name = config.get("name")
        if not name:
            raise invalid(f"Required parameter '{where}.name' is missing (null).", f"{where}.name")
        check_resource_name(name)
        if name.lower() in seen:
            raise invalid(f"Network interface configuration name '{name}' is used more than once.", where)
        seen.add(name.lower())
        props = copy.deepcopy(config.get("properties") or {})
        primary = props.get("primary")
        props["primary"] = bool(primary) if primary is not None else index == 0 and not explicit_primary
        props["deleteOption"] = _delete_option(props.get("deleteOption"), f"{where}.properties.deleteOption")
        props.setdefault("enableAcceleratedNetworking", False)
        props.setdefault("enableIPForwarding", False)
        props["ipConfigurations"] = _ip_configurations(props.get("ipConfigurations") or [], where)
        entry: dict = {"name": name, "properties": props}
        if config.get("tags"):
            entry["tags"] = dict(config["tags"])
        out.append(entry)
    if len(out) > 1 and sum(1 for c in out if c["properties"]["primary"]) != 1:
        raise invalid(
            f"Virtual machine {vm_name} must have one network interface set as the primary.", _CONFIGS
        )
    return out


def _delete_option(value: object, target: str) -> str:
    if value is None:
        return "Detach"  # Azure's default: the NIC outlives the VM
    option = _DELETE_OPTIONS.get(str(value).lower())
    if option is None:
        raise invalid(
            f"The value '{value}' of parameter '{target}' is invalid. Allowed values are: Delete, Detach.",
            target,
        )
    return option


def _ip_configurations(configs: list, where: str) -> list[dict]:
    out = []
    for index, config in enumerate(configs):
        props = copy.deepcopy(config.get("properties") or {})
        if props.get("publicIPAddressConfiguration"):
            # Not emulated: Azure would make a public IP as well. Refuse rather than ignore it.
            target = f"{where}.properties.ipConfigurations[{index}].properties.publicIPAddressConfiguration"
            raise invalid(
                "The emulator does not create public IP addresses from 'publicIPAddressConfiguration'; "
                "create the public IP address and a network interface that references it instead.",
                target,
            )
        primary = props.get("primary")
        props["primary"] = bool(primary) if primary is not None else index == 0
        props.setdefault("privateIPAddressVersion", "IPv4")
        out.append({"name": config.get("name") or f"ipconfig{index + 1}", "properties": props})
    return out


def nic_body(location: str, config: dict) -> dict:
    """The NIC PUT body a normalised configuration stands for (what Azure sends to Microsoft.Network)."""
    props = config["properties"]
    nic_props = {k: copy.deepcopy(props[k]) for k in _NIC_PROPERTIES if k in props}
    nic_props["ipConfigurations"] = [
        {
            "name": ip["name"],
            "properties": {
                **{k: copy.deepcopy(ip["properties"][k]) for k in _IP_PROPERTIES if k in ip["properties"]},
                "privateIPAllocationMethod": "Dynamic",
            },
        }
        for ip in props["ipConfigurations"]
    ]
    return {"location": location, "tags": dict(config.get("tags") or {}), "properties": nic_props}


# update ------------------------------------------------------------------------------------------
def updated_profile(doc: dict, profile_in: dict | None) -> dict:
    """The networkProfile after a PUT/PATCH on an existing VM.

    NIC configurations are fixed at creation (Azure made the NICs from them): the same ones
    again (or none) keep the stored profile, a change is 409 PropertyChangeNotAllowed; only
    `deleteOption` may change, as Azure allows on an existing VM. References to NICs made
    beforehand are not changed by an update.
    """
    stored = copy.deepcopy(doc["properties"].get("networkProfile") or {})
    configs_in = (profile_in or {}).get("networkInterfaceConfigurations")
    stored_configs = stored.get("networkInterfaceConfigurations")
    if configs_in is None or (not configs_in and not stored_configs):
        return stored
    if not stored_configs:
        raise property_change(_CONFIGS)
    version = (profile_in or {}).get("networkApiVersion")
    if version and version != stored.get("networkApiVersion"):
        raise property_change("networkProfile.networkApiVersion")
    wanted = normalise(configs_in, doc["name"])
    if _signature(wanted) != _signature(stored_configs):
        raise property_change(_CONFIGS)
    options = {c["name"].lower(): c["properties"]["deleteOption"] for c in wanted}
    for config in stored_configs:
        config["properties"]["deleteOption"] = options[config["name"].lower()]
    for ref in stored.get("networkInterfaces") or []:
        ref.setdefault("properties", {})["deleteOption"] = options[ids.name_of(ref["id"]).lower()]
    return stored


def _signature(configs: list[dict]) -> str:
    """Configurations compared without deleteOption, ids case-insensitively."""
    stripped = copy.deepcopy(configs)
    for config in stripped:
        config["properties"].pop("deleteOption", None)
    return json.dumps(_lower_ids(stripped), sort_keys=True)


def _lower_ids(value: object) -> object:
    if isinstance(value, dict):
        return {k: v.lower() if k == "id" and isinstance(v, str) else _lower_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_ids(v) for v in value]
    return value
