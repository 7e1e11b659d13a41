"""Microsoft.Network: virtual networks (with subnets), subnets and network interfaces."""

from __future__ import annotations

import copy
import ipaddress
import uuid

from imagepipe.emulator import ids, timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.operations import on_delete
from imagepipe.emulator.replies import Answer, Reply, Started
from imagepipe.emulator.store import Store
from imagepipe.emulator.types import NIC, SUBNET, VNET


def invalid_reference(ref: str, by: str) -> ArmError:
    return ArmError(
        400,
        "InvalidResourceReference",
        f"Resource {ref} referenced by resource {by} was not found. "
        "Please make sure that the referenced resource exists, and that both resources are in the same region.",
    )


def etag() -> str:
    return f'W/"{uuid.uuid4()}"'


class NetworkKind(Kind):
    namespace = "Microsoft.Network"
    create_duration = timing.NETWORK
    update_duration = timing.NETWORK
    delete_duration = timing.NETWORK

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = super().render(ctx, doc)
        out["etag"] = doc["_emu"].get("etag", 'W/"0"')
        return out


class VirtualNetworks(NetworkKind):
    type_name = VNET
    group = "VirtualNetworks"

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        doc["_emu"]["etag"] = etag()
        doc["properties"] = self._properties(doc, body, None)
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        doc = copy.deepcopy(doc)
        doc["_emu"]["etag"] = etag()  # every change gets a new ETag (If-Match relies on it)
        if "tags" in body:
            doc["tags"] = dict(body.get("tags") or {})
        doc["properties"] = self._properties(doc, body, doc)
        return self.start_provisioning(ctx, doc, self.update_duration, created=False)

    def _properties(self, doc: dict, body: dict, existing: dict | None) -> dict:
        props = copy.deepcopy(body.get("properties") or {})
        prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
        if not prefixes:
            raise ArmError(400, "InvalidAddressSpace", "The address space of the virtual network is missing.")
        networks = []
        for prefix in prefixes:
            try:
                networks.append(ipaddress.ip_network(prefix, strict=False))
            except ValueError:
                raise ArmError(
                    400,
                    "InvalidAddressPrefixFormat",
                    f"Address prefix {prefix} of resource {doc['id']} is not formatted correctly.",
                ) from None
        old_subnets = {
            s["name"].lower(): s for s in ((existing or {}).get("properties", {}).get("subnets") or [])
        }
        subnets = []
        for subnet in props.get("subnets") or []:
            name = subnet.get("name")
            if not name:
                raise ArmError(400, "InvalidRequestFormat", "A subnet of the virtual network has no name.")
            old = old_subnets.get(name.lower(), {})
            subnets.append(_subnet_doc(doc["id"], name, subnet, networks, old))
        kept = {s["name"].lower() for s in subnets}
        for name, old in old_subnets.items():
            users = old["properties"].get("ipConfigurations") or []
            if name not in kept and users:
                raise ArmError(
                    400,
                    "InUseSubnetCannotBeDeleted",
                    f"Subnet {old['name']} is in use by {users[0]['id']} and cannot be deleted. "
                    "In order to delete the subnet, delete all the resources within the subnet.",
                )
        props["subnets"] = subnets
        props.setdefault("dhcpOptions", {"dnsServers": []})
        props["resourceGuid"] = (existing or {}).get("properties", {}).get("resourceGuid") or str(
            uuid.uuid4()
        )
        return props

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        for subnet in doc["properties"].get("subnets") or []:
            users = subnet["properties"].get("ipConfigurations") or []
            if users:
                raise ArmError(
                    400,
                    "InUseSubnetCannotBeDeleted",
                    f"Subnet {subnet['name']} is in use by {users[0]['id']} and cannot be deleted. "
                    "In order to delete the subnet, delete all the resources within the subnet.",
                )


def _subnet_doc(vnet_id: str, name: str, body: dict, networks: list, old: dict) -> dict:
    props = copy.deepcopy(body.get("properties") or {})
    prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
    if not prefix:
        raise ArmError(400, "InvalidRequestFormat", f"Subnet {name} has no address prefix.")
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        raise ArmError(
            400,
            "InvalidAddressPrefixFormat",
            f"Address prefix {prefix} of subnet {name} is not formatted correctly.",
        ) from None
    if not any(net.subnet_of(n) for n in networks if n.version == net.version):
        raise ArmError(
            400,
            "NetcfgInvalidSubnet",
            f"Subnet '{name}' is not valid in virtual network '{ids.name_of(vnet_id)}'.",
        )
    props["addressPrefix"] = prefix
    props["provisioningState"] = "Succeeded"
    props["ipConfigurations"] = (old.get("properties") or {}).get("ipConfigurations") or []
    return {
        "id": f"{vnet_id}/subnets/{name}",
        "name": name,
        "type": SUBNET,
        "etag": etag(),
        "properties": props,
    }


def find_subnet(ctx: Ctx, subnet_id: str) -> tuple[dict, dict] | None:
    """The vnet document and its subnet entry for a subnet id, or None."""
    return _find_subnet(ctx.store, subnet_id)


def _find_subnet(store: Store, subnet_id: str) -> tuple[dict, dict] | None:
    vnet = store.get(ids.parent_of(subnet_id))
    if vnet is None or vnet["type"] != VNET:
        return None
    for subnet in vnet["properties"].get("subnets") or []:
        if subnet["id"].lower() == subnet_id.lower():
            return vnet, subnet
    return None


class Subnets(NetworkKind):
    """Subnets live inside their virtual network's document, as Azure returns them."""

    type_name = SUBNET
    group = "Subnets"
    needs_location = False

    def require(self, ctx: Ctx, resource_id: str) -> dict:
        found = find_subnet(ctx, resource_id)
        if found is None:
            raise ArmError(404, "NotFound", f"Resource {resource_id} not found.")
        return found[1]

    def render(self, ctx: Ctx, doc: dict) -> dict:
        return copy.deepcopy(doc)

    def list_under(self, ctx: Ctx, parent: dict) -> list[dict]:
        return list(parent["properties"].get("subnets") or [])

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        vnet_id = ids.parent_of(resource_id)
        vnet = ctx.store.get(vnet_id)
        if vnet is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource '{ids.name_of(vnet_id)}' not found.",
            )
        vnet = copy.deepcopy(vnet)
        name = ids.name_of(resource_id)
        networks = [
            ipaddress.ip_network(p, strict=False)
            for p in vnet["properties"]["addressSpace"]["addressPrefixes"]
        ]
        subnets = vnet["properties"].setdefault("subnets", [])
        old = next((s for s in subnets if s["name"].lower() == name.lower()), None)
        new = _subnet_doc(vnet["id"], old["name"] if old else name, body, networks, old or {})
        if old:
            subnets[subnets.index(old)] = new
        else:
            subnets.append(new)
        new["properties"]["provisioningState"] = "Updating"
        op = ctx.ops.start(
            "Subnets_CreateOrUpdate",
            new["id"],
            timing.NETWORK,
            success=[{"merge": vnet["id"], "doc": {}}],
            error=ctx.injected_error,
            namespace=self.namespace,
            location=vnet["location"],
        )
        new["properties"]["provisioningState"] = "Succeeded"  # settles with the vnet; answers are fast
        ctx.store.put(vnet)
        return Started(op, 200 if old else 201, new)

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        found = find_subnet(ctx, resource_id)
        if found is None:
            return Reply(status=204)
        vnet, subnet = found
        if subnet["properties"].get("ipConfigurations"):
            raise ArmError(
                400, "InUseSubnetCannotBeDeleted", f"Subnet {subnet['name']} is in use and cannot be deleted."
            )
        vnet = copy.deepcopy(vnet)
        vnet["properties"]["subnets"] = [
            s for s in vnet["properties"]["subnets"] if s["id"].lower() != resource_id.lower()
        ]
        ctx.store.put(vnet)
        op = ctx.ops.start(
            "Subnets_Delete",
            subnet["id"],
            timing.NETWORK,
            namespace=self.namespace,
            location=vnet["location"],
        )
        return Started(op, 202, location=True)


def _subnet_usage(store: Store, subnet_id: str, ip_config_id: str, *, add: bool) -> None:
    """Add or remove one NIC ipConfiguration in its subnet's `ipConfigurations` (what "in use" means)."""
    found = _find_subnet(store, subnet_id)
    if found is None:
        return
    vnet, subnet = found
    users = [
        u
        for u in subnet["properties"].get("ipConfigurations") or []
        if u["id"].lower() != ip_config_id.lower()
    ]
    if add:
        users.append({"id": ip_config_id})
    subnet["properties"]["ipConfigurations"] = users
    store.put(vnet)


def release_addresses(store: Store, nic: dict) -> None:
    """Free the subnet entries of a NIC's ipConfigurations (idempotent)."""
    for config in nic["properties"].get("ipConfigurations") or []:
        subnet_id = (config["properties"].get("subnet") or {}).get("id")
        if subnet_id:
            _subnet_usage(store, subnet_id, config["id"], add=False)


class NetworkInterfaces(NetworkKind):
    type_name = NIC
    group = "NetworkInterfaces"

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        doc["_emu"]["etag"] = etag()
        doc["properties"] = self._properties(ctx, doc, body)
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        self.check_body(ctx, doc, body)  # before the old addresses are freed: a refusal changes nothing
        doc = copy.deepcopy(doc)
        if "tags" in body:
            doc["tags"] = dict(body.get("tags") or {})
        attached = doc["properties"].get("virtualMachine")
        release_addresses(ctx.store, doc)
        doc["properties"] = self._properties(ctx, doc, body)
        if attached:
            doc["properties"]["virtualMachine"] = attached
        return self.start_provisioning(ctx, doc, self.update_duration, created=False)

    def put_implicit(self, ctx: Ctx, nic_id: str, body: dict, vm_id: str) -> dict:
        """Create, or overwrite an unattached, NIC that Azure makes for a VM (no request, no operation).

        The caller has run `check_body` first. The NIC is Succeeded at once and attached to `vm_id`.
        """
        existing = ctx.store.get(nic_id)
        if existing is not None:
            doc = copy.deepcopy(existing)
            release_addresses(ctx.store, doc)  # overwritten: its old addresses go back to the subnet
        else:
            doc = {"id": nic_id, "name": ids.name_of(nic_id), "type": NIC, "location": body["location"]}
            doc["_emu"] = {}
        doc["tags"] = dict(body.get("tags") or {})
        doc["_emu"]["etag"] = etag()
        doc["properties"] = self._properties(ctx, doc, body)
        doc["properties"]["virtualMachine"] = {"id": vm_id}
        doc["properties"]["provisioningState"] = "Succeeded"
        ctx.store.put(doc)
        return doc

    def check_body(self, ctx: Ctx, doc: dict, body: dict) -> None:
        """Refuse a NIC body whose configurations or references are wrong (no side effects).

        `doc` needs only `id` and `location`.
        """
        props = body.get("properties") or {}
        configs = props.get("ipConfigurations") or []
        if not configs:
            raise ArmError(
                400,
                "NetworkInterfaceMustHaveAtLeastOneIpConfiguration",
                f"Network interface {doc['id']} must have at least one IP configuration.",
            )
        for index, config in enumerate(configs):
            name = config.get("name") or f"ipconfig{index + 1}"
            cprops = config.get("properties") or {}
            subnet_id = (cprops.get("subnet") or {}).get("id")
            if not subnet_id:
                raise ArmError(
                    400, "InvalidRequestFormat", f"IP configuration {name} of {doc['id']} has no subnet."
                )
            found = find_subnet(ctx, subnet_id)
            if found is None or found[0]["location"] != doc["location"]:
                raise invalid_reference(subnet_id, doc["id"])
            public_ip = (cprops.get("publicIPAddress") or {}).get("id")
            if public_ip and ctx.store.get(public_ip) is None:
                raise invalid_reference(public_ip, doc["id"])
        nsg = (props.get("networkSecurityGroup") or {}).get("id")
        if nsg and ctx.store.get(nsg) is None:
            raise invalid_reference(nsg, doc["id"])

    def _properties(self, ctx: Ctx, doc: dict, body: dict) -> dict:
        """A NIC's properties from a PUT body: addresses allocated, subnets told they are in use."""
        self.check_body(ctx, doc, body)  # all checks first, so a refused body allocates nothing
        props = copy.deepcopy(body.get("properties") or {})
        out = []
        for index, config in enumerate(props.get("ipConfigurations") or []):
            name = config.get("name") or f"ipconfig{index + 1}"
            cprops = copy.deepcopy(config.get("properties") or {})
            found = find_subnet(ctx, cprops["subnet"]["id"])
            assert found is not None  # check_body saw it
            subnet = found[1]
            config_id = f"{doc['id']}/ipConfigurations/{name}"
            cprops["subnet"] = {"id": subnet["id"]}
            cprops.setdefault("privateIPAllocationMethod", "Dynamic")
            cprops["privateIPAddress"] = cprops.get("privateIPAddress") or _next_address(subnet)
            cprops.setdefault("privateIPAddressVersion", "IPv4")
            cprops["primary"] = cprops.get("primary", index == 0)
            cprops["provisioningState"] = "Succeeded"
            _subnet_usage(ctx.store, subnet["id"], config_id, add=True)
            out.append(
                {"id": config_id, "name": name, "type": f"{NIC}/ipConfigurations", "properties": cprops}
            )
        props["ipConfigurations"] = out
        props.setdefault("enableAcceleratedNetworking", False)
        props.setdefault("enableIPForwarding", False)
        props["macAddress"] = props.get("macAddress") or "00-0D-3A-" + uuid.uuid4().hex[:6].upper()
        props["resourceGuid"] = str(uuid.uuid4())
        props["nicType"] = "Standard"
        return props

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        vm = doc["properties"].get("virtualMachine")
        if vm:
            raise ArmError(
                400,
                "NicInUse",
                f"Network Interface {doc['id']} is used by existing resource {vm['id']}. "
                "In order to delete the network interface, it must be dissociated from the resource.",
            )

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        doc = ctx.store.get(resource_id)
        if doc is not None:
            self.check_delete(ctx, doc)
            release_addresses(ctx.store, doc)
        return super().delete(ctx, resource_id)


def _next_address(subnet: dict) -> str:
    """The next free address after Azure's 4 reserved ones."""
    net = ipaddress.ip_network(subnet["properties"]["addressPrefix"], strict=False)
    used = len(subnet["properties"].get("ipConfigurations") or [])
    offset = 4 + used
    return str(net.network_address + min(offset, net.num_addresses - 2))


register(VirtualNetworks())
register(Subnets())
NETWORK_INTERFACES = NetworkInterfaces()
register(NETWORK_INTERFACES)
# A NIC removed by any operation's effect (a VM's deleteOption, a group delete) frees its subnet entries.
on_delete(NIC, release_addresses)
