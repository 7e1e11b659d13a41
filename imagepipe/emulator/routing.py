"""Map an ARM request path (case-insensitive, any api-version) to an operation name and a handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imagepipe.emulator import apiversions, catalogue, timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.ids import LOCATIONS, SUBSCRIPTION_ID, SUBSCRIPTION_NAME, TENANT_ID
from imagepipe.emulator.kinds import KINDS, groups
from imagepipe.emulator.kinds.base import Kind
from imagepipe.emulator.render import operation_results_url, operation_url
from imagepipe.emulator.replies import Answer, Reply
from imagepipe.emulator.retryafter import retry_after_headers

Handler = Callable[[Ctx, object], Answer]


@dataclass(frozen=True)
class Route:
    operation: str
    handler: Handler
    subscription: str


def _reject(status: int, code: str, message: str) -> Handler:
    def handler(ctx: Ctx, body: object) -> Answer:
        raise ArmError(status, code, message)

    return handler


def resolve(method: str, segments: list[str]) -> Route | None:
    """The route of an ARM path below /subscriptions, or None when it is not one."""
    low = [s.lower() for s in segments]
    if not low or low[0] != "subscriptions":
        if low == ["tenants"] and method == "GET":
            return Route("Tenants_List", lambda ctx, body: _tenants(ctx), "")
        return None
    if len(low) == 1:
        return (
            Route("Subscriptions_List", lambda ctx, body: _subscriptions(ctx), "")
            if method == "GET"
            else None
        )
    sub = segments[1]
    rest, lrest = segments[2:], low[2:]
    if not rest:
        return Route("Subscriptions_Get", lambda ctx, body: Reply(_subscription(ctx)), sub)
    if lrest == ["locations"]:
        return Route("Subscriptions_ListLocations", lambda ctx, body: _locations(ctx), sub)
    if lrest == ["resources"]:
        return Route("Resources_List", lambda ctx, body: groups.list_resources(ctx, None), sub)
    if lrest[0] == "operationresults" and len(rest) == 2:
        return Route("OperationResults_Get", lambda ctx, body: operation_result(ctx, rest[1]), sub)
    if lrest[0] == "providers":
        return _provider_route(method, sub, rest[1:], lrest[1:])
    if lrest[0] == "resourcegroups":
        return _group_route(method, sub, rest[1:], lrest[1:])
    return None


def _provider_route(method: str, sub: str, rest: list[str], lrest: list[str]) -> Route | None:
    if not rest:
        return Route(
            "Providers_List",
            lambda ctx, body: Reply({"value": [_provider(ctx, n) for n in _NAMESPACES]}),
            sub,
        )
    namespace = rest[0]
    if len(rest) == 1:
        return Route("Providers_Get", lambda ctx, body: Reply(_provider(ctx, namespace)), sub)
    if len(rest) == 2 and lrest[1] == "register":
        return Route("Providers_Register", lambda ctx, body: Reply(_provider(ctx, namespace)), sub)
    if len(lrest) == 5 and lrest[1] == "locations" and lrest[3] == "operations":
        return Route("OperationStatus_Get", lambda ctx, body: operation_status(ctx, rest[4]), sub)
    if len(lrest) >= 4 and lrest[1] == "locations" and lrest[3] == "publishers":
        return Route(
            "VirtualMachineImages_Get", lambda ctx, body: _platform_images(ctx, rest[2], rest[4:]), sub
        )
    if len(rest) == 2 and method == "GET":
        kind = KINDS.get(f"{lrest[0]}/{lrest[1]}")
        if kind is None:
            return None
        return Route(
            f"{kind.group}_ListAll",
            lambda ctx, body: Reply(
                kind.listing(ctx, ctx.store.all_of_type(ctx.subscription, kind.type_name))
            ),
            sub,
        )
    return None


def _group_route(method: str, sub: str, rest: list[str], lrest: list[str]) -> Route | None:
    if not rest:
        return (
            Route("ResourceGroups_List", lambda ctx, body: groups.list_groups(ctx), sub)
            if method == "GET"
            else None
        )
    group = rest[0]
    if len(rest) == 1:
        verbs = {
            "GET": ("ResourceGroups_Get", lambda ctx, body: groups.get_group(ctx, group)),
            "HEAD": ("ResourceGroups_CheckExistence", lambda ctx, body: groups.head_group(ctx, group)),
            "PUT": (
                "ResourceGroups_CreateOrUpdate",
                lambda ctx, body: groups.put_group(ctx, group, _object(body)),
            ),
            "PATCH": (
                "ResourceGroups_Update",
                lambda ctx, body: groups.put_group(ctx, group, {**_object(body), "location": None}),
            ),
            "DELETE": ("ResourceGroups_Delete", lambda ctx, body: groups.delete_group(ctx, group)),
        }
        if method not in verbs:
            return None
        name, handler = verbs[method]
        return Route(name, handler, sub)
    if lrest[1:] == ["resources"]:
        return Route(
            "Resources_ListByResourceGroup", lambda ctx, body: groups.list_resources(ctx, group), sub
        )
    if lrest[1] == "deployments":  # ARM's short form of .../providers/Microsoft.Resources/deployments
        rest = [group, "providers", "Microsoft.Resources", *rest[1:]]
        lrest = [s.lower() for s in rest]
    if lrest[1] != "providers" or len(rest) < 4:
        return None
    namespace = rest[2]
    parts, lparts = rest[3:], lrest[3:]
    type_parts = lparts[0::2]
    full_type = f"{namespace.lower()}/{'/'.join(type_parts)}"
    if len(parts) % 2 == 1:  # a collection, an action or a sub-property
        trailing = parts[-1]
        if len(parts) == 1:
            kind = KINDS.get(full_type)
            if kind is None or method != "GET":
                return None
            return Route(f"{kind.group}_List", lambda ctx, body: _list_in_group(ctx, kind, group), sub)
        parent_type = f"{namespace.lower()}/{'/'.join(type_parts[:-1])}"
        parent_kind = KINDS.get(parent_type)
        if parent_kind is None:
            return None
        child_kind = KINDS.get(full_type)
        if child_kind is not None and method == "GET":
            return Route(
                f"{child_kind.group}_List",
                lambda ctx, body: _list_children(ctx, parent_kind, child_kind, group, namespace, parts[:-1]),
                sub,
            )
        if method == "POST":
            return Route(
                f"{parent_kind.group}_{_pascal(trailing)}",
                lambda ctx, body: parent_kind.action(
                    ctx, _resource_id(ctx, parent_kind, group, namespace, parts[:-1]), trailing, _object(body)
                ),
                sub,
            )
        if method == "GET":
            return Route(
                f"{parent_kind.group}_{_pascal(trailing)}",
                lambda ctx, body: _sub_get(ctx, parent_kind, group, namespace, parts[:-1], trailing),
                sub,
            )
        return None
    kind = KINDS.get(full_type)
    if kind is None:
        return Route(
            "Unknown_" + method.title(),
            _reject(
                404,
                "InvalidResourceType",
                f"The resource type '{'/'.join(type_parts)}' could not be found in the namespace '{namespace}'.",
            ),
            sub,
        )
    post = getattr(kind, "post", None)
    if method == "POST" and post is not None:  # an action spelled as a child (rollingUpgrades/cancel)
        return Route(
            f"{kind.group}_{_pascal(parts[-1])}",
            lambda ctx, body: post(ctx, _resource_id(ctx, kind, group, namespace, parts), _object(body)),
            sub,
        )
    verbs = {
        "GET": "Get",
        "HEAD": "CheckExistence",
        "PUT": "CreateOrUpdate",
        "PATCH": "Update",
        "DELETE": "Delete",
    }
    if method not in verbs:
        return None

    def handler(ctx: Ctx, body: object) -> Answer:
        resource_id = _resource_id(ctx, kind, group, namespace, parts)
        if method == "HEAD":
            return Reply(status=204 if ctx.store.get(resource_id) is not None else 404)
        if method == "GET":
            return Reply(kind.get(ctx, resource_id))
        if method == "PUT":
            return kind.put(ctx, resource_id, _object(body))
        if method == "PATCH":
            return kind.patch(ctx, resource_id, _object(body))
        return kind.delete(ctx, resource_id)

    return Route(f"{kind.group}_{verbs[method]}", handler, sub)


def _object(body: object) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ArmError(
            400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
        )
    return body


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _resource_id(ctx: Ctx, kind: Kind, group: str, namespace: str, parts: list[str]) -> str:
    """The canonical id: the group's stored spelling, the type's documented casing, names as sent."""
    group_doc = groups.require_group(ctx, group)
    type_segments = kind.type_name.split("/")
    canonical_namespace, type_names = type_segments[0], type_segments[1:]
    path = "/".join(f"{t}/{n}" for t, n in zip(type_names, parts[1::2], strict=True))
    return f"{group_doc['id']}/providers/{canonical_namespace}/{path}"


def _list_in_group(ctx: Ctx, kind: Kind, group: str) -> Answer:
    group_doc = groups.require_group(ctx, group)
    docs = [d for d in ctx.store.children(group_doc["id"], kind.type_name)]
    return Reply(kind.listing(ctx, docs))


def _list_children(
    ctx: Ctx, parent_kind: Kind, child_kind: Kind, group: str, namespace: str, parts: list[str]
) -> Answer:
    parent_id = _resource_id(ctx, parent_kind, group, namespace, parts)
    parent = parent_kind.require(ctx, parent_id)
    return Reply(child_kind.listing(ctx, child_kind.list_under(ctx, parent)))


def _sub_get(ctx: Ctx, kind: Kind, group: str, namespace: str, parts: list[str], segment: str) -> Answer:
    doc = kind.require(ctx, _resource_id(ctx, kind, group, namespace, parts))
    return Reply(kind.sub_get(ctx, doc, segment))


# operation status -------------------------------------------------------------------------------
def operation_status(ctx: Ctx, op_id: str) -> Answer:
    """Azure-AsyncOperation (status body) or, with monitor=true, Location semantics."""
    op = ctx.store.operations.get(op_id)
    if op is None:
        raise ArmError(404, "NotFound", f"The operation '{op_id}' was not found.")
    status = ctx.ops.status(op)
    headers = {}
    if status == "InProgress":
        headers = retry_after_headers(timing.poll_interval(ctx.ops.remaining(op), ctx.clock.speed))
    if ctx.query.get("monitor", "").lower() != "true":
        return Reply(ctx.ops.body(op), headers=headers)
    if status == "InProgress":
        return Reply(status=202, headers={**headers, "Location": operation_url(ctx, op, monitor=True)})
    if status == "Failed":
        return Reply({"error": op["error"]}, status=409)
    if op.get("result") is not None:
        return Reply(op["result"])
    if op.get("final_get"):
        doc = ctx.store.get(op["final_get"])
        kind = KINDS.get(doc["type"].lower()) if doc else None
        if doc is not None and kind is not None:
            return Reply(kind.render(ctx, doc))
    return Reply(status=200)


def operation_result(ctx: Ctx, op_id: str) -> Answer:
    """Resource Manager's own Location URL (resource group delete): 202 until done, then 200."""
    op = ctx.store.operations.get(op_id)
    if op is None:
        raise ArmError(404, "NotFound", f"The operation '{op_id}' was not found.")
    status = ctx.ops.status(op)
    if status == "InProgress":
        return Reply(
            status=202,
            headers={
                **retry_after_headers(timing.poll_interval(ctx.ops.remaining(op), ctx.clock.speed)),
                "Location": operation_results_url(ctx, op_id),
            },
        )
    if status == "Failed":
        return Reply({"error": op["error"]}, status=409)
    return Reply(status=200)


# subscription-level answers -----------------------------------------------------------------------
_NAMESPACES = ("Microsoft.Compute", "Microsoft.Network", "Microsoft.Resources")


def _subscription(ctx: Ctx) -> dict:
    if ctx.subscription and ctx.subscription.lower() != SUBSCRIPTION_ID:
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{ctx.subscription}' could not be found."
        )
    return {
        "id": f"/subscriptions/{SUBSCRIPTION_ID}",
        "subscriptionId": SUBSCRIPTION_ID,
        "tenantId": TENANT_ID,
        "displayName": SUBSCRIPTION_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
    }


def _subscriptions(ctx: Ctx) -> Answer:
    return Reply({"value": [_subscription(ctx)], "count": {"type": "Total", "value": 1}})


def _tenants(ctx: Ctx) -> Answer:
    return Reply(
        {
            "value": [
                {
                    "id": f"/tenants/{TENANT_ID}",
                    "tenantId": TENANT_ID,
                    "tenantCategory": "Home",
                    "displayName": "imagepipe emulator",
                }
            ]
        }
    )


def _locations(ctx: Ctx) -> Answer:
    value = [
        {
            "id": f"/subscriptions/{ctx.subscription}/locations/{name}",
            "name": name,
            "displayName": name,
            "regionalDisplayName": name,
            "type": "Region",
        }
        for name in LOCATIONS
    ]
    return Reply({"value": value})


def _provider(ctx: Ctx, namespace: str) -> dict:
    types = sorted(
        {
            k.type_name.split("/", 1)[1]
            for k in KINDS.values()
            if k.type_name.lower().startswith(namespace.lower() + "/")
        }
    )
    return {
        "id": f"/subscriptions/{ctx.subscription}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {
                "resourceType": t,
                "locations": list(LOCATIONS),
                # az's generic resource calls pick the newest of these that is not a preview.
                "apiVersions": apiversions.supported(f"{namespace}/{t}"),
            }
            for t in types
        ],
    }


def _platform_images(ctx: Ctx, location: str, path: list[str]) -> Answer:
    """publishers/{p}/artifacttypes/vmimage/offers/{o}/skus/{s}/versions[/{v}] (and the lists above it)."""
    low = [p.lower() for p in path]

    def entry(name: str, suffix: str) -> dict:
        return {
            "name": name,
            "location": location,
            "id": f"/Subscriptions/{ctx.subscription}/Providers/Microsoft.Compute/Locations/{location}/{suffix}",
        }

    publisher = path[0]
    if len(low) == 1:
        return Reply([entry(publisher, f"Publishers/{publisher}")] if catalogue.find(publisher) else [])
    if len(low) >= 3 and low[1] == "artifacttypes" and low[2] == "vmimage":
        tail = path[3:]
        ltail = low[3:]
        if ltail == ["offers"]:
            offers = sorted({i.offer for i in catalogue.find(publisher)})
            return Reply(
                [entry(o, f"Publishers/{publisher}/ArtifactTypes/VMImage/Offers/{o}") for o in offers]
            )
        if len(ltail) == 3 and ltail[2] == "skus":
            skus = sorted({i.sku for i in catalogue.find(publisher, tail[1])})
            return Reply(
                [
                    entry(s, f"Publishers/{publisher}/ArtifactTypes/VMImage/Offers/{tail[1]}/Skus/{s}")
                    for s in skus
                ]
            )
        if len(ltail) >= 5 and ltail[2] == "skus" and ltail[4] == "versions":
            images = catalogue.find(publisher, tail[1], tail[3])
            prefix = f"Publishers/{publisher}/ArtifactTypes/VMImage/Offers/{tail[1]}/Skus/{tail[3]}/Versions"
            if len(ltail) == 5:
                return Reply([entry(v, f"{prefix}/{v}") for i in images for v in i.versions])
            image, version = catalogue.resolve(
                {"publisher": publisher, "offer": tail[1], "sku": tail[3], "version": tail[5]}
            )
            body = entry(version, f"{prefix}/{version}")
            body["properties"] = {
                "osDiskImage": {"operatingSystem": image.os_type, "sizeInGb": image.os_disk_gb},
                "hyperVGeneration": image.hyper_v_generation,
                "architecture": image.architecture,
                "dataDiskImages": [],
            }
            if image.capability != "Standard":
                body["properties"]["features"] = [{"name": "SecurityType", "value": image.capability}]
            return Reply(body)
    raise ArmError(404, "NotFound", f"Artifact '{'/'.join(path)}' not found.")
