"""Resource groups (Microsoft.Resources) and the generic resource list used to find owned resources."""

from __future__ import annotations

import re

from imagepipe.emulator import ids, paging, timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError, group_not_found
from imagepipe.emulator.kinds.base import normalize_location
from imagepipe.emulator.replies import Answer, Reply, Started
from imagepipe.emulator.types import RESOURCE_GROUP

_FILTER_TERM = re.compile(r"(\w+)\s+eq\s+'((?:[^']|'')*)'", re.IGNORECASE)
_GROUP_NAME = re.compile(r"^[-\w._()]{1,90}$")


def _render(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "_emu"}


def require_group(ctx: Ctx, group: str) -> dict:
    doc = ctx.store.get(ids.group_id(ctx.subscription, group))
    if doc is None:
        raise group_not_found(group)
    return doc


def put_group(ctx: Ctx, group: str, body: dict) -> Answer:
    if not _GROUP_NAME.match(group) or group.endswith("."):
        raise ArmError(
            400,
            "InvalidResourceGroup",
            f"The provided resource group name '{group}' has these invalid characters.",
        )
    existing = ctx.store.get(ids.group_id(ctx.subscription, group))
    if existing is not None:
        if existing["properties"]["provisioningState"] == "Deleting":
            raise ArmError(
                409,
                "ResourceGroupBeingDeleted",
                f"The resource group '{group}' is in deprovisioning state and cannot perform this operation.",
            )
        location = normalize_location(body.get("location") or existing["location"])
        if location != existing["location"]:
            raise ArmError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already exists in location "
                f"'{existing['location']}'.",
            )
        if "tags" in body:
            existing["tags"] = dict(body.get("tags") or {})
            ctx.store.put(existing)
        ctx.ops.record("ResourceGroups_CreateOrUpdate", existing["id"])
        return Reply(_render(existing), status=200)
    if not body.get("location"):
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    doc = {
        "id": ids.group_id(ctx.subscription, group),
        "name": group,
        "type": RESOURCE_GROUP,
        "location": normalize_location(body["location"]),
        "tags": dict(body.get("tags") or {}),
        "properties": {"provisioningState": "Succeeded"},
    }
    if body.get("managedBy"):
        doc["managedBy"] = body["managedBy"]
    ctx.store.put(doc)
    ctx.ops.record("ResourceGroups_CreateOrUpdate", doc["id"])
    return Reply(_render(doc), status=201)


def patch_group(ctx: Ctx, group: str, body: dict) -> Answer:
    existing = require_group(ctx, group)
    return put_group(ctx, group, {**body, "location": existing["location"]})


def get_group(ctx: Ctx, group: str) -> Answer:
    return Reply(_render(require_group(ctx, group)))


def head_group(ctx: Ctx, group: str) -> Answer:
    exists = ctx.store.get(ids.group_id(ctx.subscription, group)) is not None
    return Reply(status=204 if exists else 404)


def list_groups(ctx: Ctx) -> Answer:
    prefix = f"/subscriptions/{ctx.subscription}/resourcegroups/"
    docs = [
        d
        for d in ctx.store.all_of_type(ctx.subscription, RESOURCE_GROUP)
        if ids.key(d["id"]).startswith(prefix)
    ]
    wanted = _filters(ctx.query.get("$filter", ""))
    return Reply(paging.page(ctx, [_render(d) for d in docs if _matches(d, wanted)]))


def delete_group(ctx: Ctx, group: str) -> Answer:
    doc = ctx.store.get(ids.group_id(ctx.subscription, group))
    if doc is None:
        raise group_not_found(group)
    doc["properties"]["provisioningState"] = "Deleting"
    ctx.store.put(doc)
    count = len(ctx.store.in_group(ctx.subscription, group))
    op = ctx.ops.start(
        "ResourceGroups_Delete",
        doc["id"],
        timing.GROUP_DELETE + min(count, 100) * 0.5,
        success=[{"delete_group": doc["id"]}],
        failure=[{"merge": doc["id"], "doc": {"properties": {"provisioningState": "Succeeded"}}}],
        error=ctx.injected_error,
        namespace="Microsoft.Resources",
        location=doc["location"],
    )
    # ARM answers a group delete with Location only; polling it gives 202 until done, then 200.
    return Started(op, 202, async_header=False, operation_results=True)


def list_resources(ctx: Ctx, group: str | None) -> Answer:
    """ARM's generic resource list, with `$filter` on tags, type, name or location."""
    if group is None:
        docs = [d for d in ctx.store.all_resources(ctx.subscription) if d["type"] != RESOURCE_GROUP]
    else:
        require_group(ctx, group)
        docs = ctx.store.in_group(ctx.subscription, group)
    docs = [d for d in docs if _is_listed(d)]
    wanted = _filters(ctx.query.get("$filter", ""))
    items = []
    for d in docs:
        if not _matches(d, wanted):
            continue
        item = {"id": d["id"], "name": d["name"], "type": d["type"], "location": d.get("location", "")}
        for extra in ("tags", "sku", "kind", "managedBy", "zones"):
            if d.get(extra):
                item[extra] = d[extra]
        item.setdefault("tags", {})
        if "provisioningstate" in ctx.query.get("$expand", "").lower():
            item["provisioningState"] = d.get("properties", {}).get("provisioningState", "Succeeded")
        items.append(item)
    return Reply(paging.page(ctx, items))


def _is_listed(doc: dict) -> bool:
    """ARM lists tracked resources, nested ones (gallery images and versions) included."""
    return bool(doc.get("location"))


def _filters(text: str) -> dict[str, str]:
    return {name.lower(): value.replace("''", "'") for name, value in _FILTER_TERM.findall(text)}


def _matches(doc: dict, wanted: dict[str, str]) -> bool:
    tags = doc.get("tags") or {}
    tag_name = wanted.get("tagname")
    if tag_name is not None:
        matching = {k: v for k, v in tags.items() if k.lower() == tag_name.lower()}
        if not matching:
            return False
        if "tagvalue" in wanted and wanted["tagvalue"] not in matching.values():
            return False
    checks = {
        "resourcetype": doc["type"].lower(),
        "name": doc["name"].lower(),
        "location": doc.get("location", "").lower(),
    }
    return all(wanted[field].lower() == value for field, value in checks.items() if field in wanted)
