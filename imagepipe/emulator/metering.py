"""Charge one ARM request to the resource providers' budgets: which policies, which region, which
resource; the `x-ms-ratelimit-remaining-resource` header and the providers' 429 answers."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from imagepipe.emulator import budgets
from imagepipe.emulator.operations import iso
from imagepipe.emulator.retryafter import retry_after_headers
from imagepipe.emulator.store import Store
from imagepipe.emulator.throttle import Spent, Throttle

REMAINING_HEADER = "x-ms-ratelimit-remaining-resource"


@dataclass(frozen=True)
class Charge:
    policies: list[budgets.Policy]
    region: str
    resource: str  # the top-level resource the URL names (lower case), "" for a collection


def charge_of(method: str, segments: list[str], body: object, store: Store) -> Charge:
    low = [s.lower() for s in segments]
    if "providers" not in low or len(low) < 2:
        return Charge([], "", "")
    at = low.index("providers")
    namespace = low[at + 1] if at + 1 < len(low) else ""
    parts, raw = low[at + 2 :], segments[at + 2 :]
    types = tuple(parts[0::2])
    # A collection is `.../virtualMachines`; below a named resource every path reads or acts on
    # it (instance view, an action, its run commands).
    named = len(parts) >= 2
    action = parts[-1] if len(parts) % 2 == 1 and len(parts) > 1 else ""
    if action:
        types = types[:-1]
    top_id = "/".join(low[: at + 4]) if len(parts) >= 2 else ""
    doc = store.get("/" + "/".join(segments[: at + 4])) if top_id else None
    req = budgets.Request(method, namespace, types, named, action, doc is not None)
    policies = budgets.policies_of(req)
    if not policies:
        return Charge([], "", "")
    resource = "/" + top_id if top_id else ""
    if types[:1] == ("locations",) and len(raw) >= 2:
        region = low[at + 3]
        if "operations" in types and len(raw) >= 4:
            op = store.operations.get(raw[3])  # polling counts against the operation's resource
            resource = str(op["resource_id"]).lower() if op else resource
    elif doc is not None:  # the resource's region (a run command's is its VM's)
        region = str(doc.get("location") or "")
    elif isinstance(body, dict) and isinstance(body.get("location"), str) and method == "PUT":
        region = body["location"]
    else:
        group = store.get("/" + "/".join(segments[:4])) if len(segments) >= 4 else None
        region = str((group or {}).get("location") or "")
    return Charge(policies, region.replace(" ", "").lower() or "global", resource)


def spend(throttle: Throttle, subscription: str, charge: Charge) -> Spent:
    return throttle.spend(subscription, charge.region, charge.resource, charge.policies)


def remaining_header(spent: Spent) -> str:
    """`Microsoft.Compute/CreateVMSubscription;1499,Microsoft.Compute/CreateVMResource;11`."""
    return ",".join(f"{policy.label};{count}" for policy, count in spent.remaining)


def throttled(spent: Spent, now: float) -> Response:
    """A provider's 429: Compute's OperationNotAllowed with the policy in its details, or Network's."""
    policy = spent.refused
    assert policy is not None
    wait = spent.wait  # timeline seconds: what the client waits on the wall
    if policy.namespace == "Microsoft.Network":
        body = {
            "error": {
                "code": "TooManyRequests",
                "message": "The request is being throttled as the limit has been reached for operation type - "
                f"{policy.window}. For more information, see - https://aka.ms/srpthrottlinglimits",
            }
        }
    else:
        scope = "resource" if policy.per_resource else "subscription"
        detail = {
            "operationGroup": policy.name,
            "startTime": iso(now),
            "endTime": iso(now + wait),
            "allowedRequestCount": int(policy.capacity),
            "measuredRequestCount": int(policy.capacity) + 1,
        }
        body = {
            "error": {
                "code": "OperationNotAllowed",
                "message": f"The server rejected the request because too many requests have been received "
                f"for this {scope}.",
                "details": [
                    {"code": "TooManyRequests", "target": policy.name, "message": json.dumps(detail)}
                ],
            }
        }
    response = JSONResponse(body, status_code=429, headers=retry_after_headers(wait))
    if spent.remaining:
        response.headers[REMAINING_HEADER] = remaining_header(spent)
    return response
