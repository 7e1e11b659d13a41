"""Public IP addresses and network security groups: what `az vm create`'s template makes beside the VM.

A NIC may reference them (the NIC kind checks that they exist); imagepipe itself never makes them.
"""

from __future__ import annotations

import copy
import uuid

from imagepipe.emulator.context import Ctx
from imagepipe.emulator.kinds.network import NetworkKind, etag
from imagepipe.emulator.replies import Answer
from imagepipe.emulator.types import NSG, PUBLIC_IP


class PublicIPAddresses(NetworkKind):
    type_name = PUBLIC_IP
    group = "PublicIPAddresses"

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        doc["_emu"]["etag"] = etag()
        props = copy.deepcopy(body.get("properties") or {})
        props.setdefault("publicIPAllocationMethod", "Static")
        props.setdefault("publicIPAddressVersion", "IPv4")
        props.setdefault("idleTimeoutInMinutes", 4)
        props["resourceGuid"] = str(uuid.uuid4())
        # Documentation range (RFC 5737): never a real address.
        props["ipAddress"] = f"203.0.113.{uuid.uuid4().int % 254 + 1}"
        doc["properties"] = props
        doc["sku"] = copy.deepcopy(body.get("sku") or {"name": "Standard", "tier": "Regional"})
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)


class NetworkSecurityGroups(NetworkKind):
    type_name = NSG
    group = "NetworkSecurityGroups"

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        doc["_emu"]["etag"] = etag()
        props = copy.deepcopy(body.get("properties") or {})
        rules = []
        for rule in props.get("securityRules") or []:
            rules.append(
                {
                    **rule,
                    "id": f"{doc['id']}/securityRules/{rule.get('name', '')}",
                    "type": f"{self.type_name}/securityRules",
                }
            )
        props["securityRules"] = rules
        props["defaultSecurityRules"] = [
            {
                "id": f"{doc['id']}/defaultSecurityRules/{name}",
                "name": name,
                "properties": {"access": access, "direction": direction, "priority": priority},
            }
            for name, access, direction, priority in (
                ("AllowVnetInBound", "Allow", "Inbound", 65000),
                ("AllowAzureLoadBalancerInBound", "Allow", "Inbound", 65001),
                ("DenyAllInBound", "Deny", "Inbound", 65500),
                ("AllowVnetOutBound", "Allow", "Outbound", 65000),
                ("AllowInternetOutBound", "Allow", "Outbound", 65001),
                ("DenyAllOutBound", "Deny", "Outbound", 65500),
            )
        ]
        props["resourceGuid"] = str(uuid.uuid4())
        doc["properties"] = props
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)
