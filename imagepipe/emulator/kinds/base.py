"""The shared behaviour of a resource type: get, list, create/update, patch, delete, actions."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable

from imagepipe.emulator import ids, timing
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.errors import ArmError, not_found
from imagepipe.emulator.ids import normalize_location
from imagepipe.emulator.operations import deep_merge
from imagepipe.emulator.replies import Answer, Reply, Started

Action = Callable[[Ctx, dict, dict], Answer]

KINDS: dict[str, Kind] = {}
_BAD_NAME = re.compile(r"[<>%&:\\?/#*]")


def register(kind: Kind) -> Kind:
    KINDS[kind.type_name.lower()] = kind
    return kind


class Kind:
    """A resource type. Subclasses override `create`/`update` and add actions."""

    type_name = ""
    group = ""  # the operation group of its REST operations, e.g. "VirtualMachines"
    namespace = "Microsoft.Compute"
    create_status = 201
    create_duration = timing.DISK_CREATE
    update_duration = timing.DISK_CREATE
    delete_duration = timing.DEFAULT_DELETE
    delete_location = True  # DELETE answers carry Location as well as Azure-AsyncOperation

    def __init__(self) -> None:
        self.actions: dict[str, Action] = {}

    # rendering ---------------------------------------------------------------------------------
    def render(self, ctx: Ctx, doc: dict) -> dict:
        return public(doc)

    # reads -------------------------------------------------------------------------------------
    def get(self, ctx: Ctx, resource_id: str) -> dict:
        """The record a GET shows."""
        return self.render(ctx, self.require(ctx, resource_id))

    def require(self, ctx: Ctx, resource_id: str) -> dict:
        doc = ctx.store.get(resource_id)
        if doc is None or doc["type"].lower() != self.type_name.lower():
            raise not_found(resource_id, self.type_name)
        return doc

    def listing(self, ctx: Ctx, docs: list[dict]) -> dict:
        return {"value": [self.render(ctx, d) for d in docs]}

    def list_under(self, ctx: Ctx, parent: dict) -> list[dict]:
        """The resources of this (child) type inside `parent`."""
        return ctx.store.children(parent["id"], self.type_name)

    def sub_get(self, ctx: Ctx, doc: dict, segment: str) -> dict:
        """What GET answers for `{resource}/{segment}` (an instance view, ...)."""
        raise ArmError(404, "NotFound", f"'{segment}' is not a property of {self.type_name}.")

    # writes ------------------------------------------------------------------------------------
    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        existing = ctx.store.get(resource_id)
        if existing is None:
            check_resource_name(ids.name_of(resource_id))
        if not isinstance(body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        check_preconditions(ctx, existing)
        refuse_in_deleting_group(ctx, resource_id)
        if existing is None:
            location = body.get("location")
            if not location and self.needs_location:
                raise ArmError(
                    400, "LocationRequired", "The location property is required for this definition."
                )
            doc = {
                "id": resource_id,
                "name": ids.name_of(resource_id),
                "type": self.type_name,
                "location": normalize_location(location or ""),
                "tags": dict(body.get("tags") or {}),
                "properties": {},
                "_emu": {},
            }
            return self.create(ctx, doc, body)
        return self.update(ctx, existing, body)

    needs_location = True

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        """Default create: copy the writable properties; provisioning takes `create_duration`."""
        doc["properties"] = copy.deepcopy(body.get("properties") or {})
        for extra in ("sku", "zones", "kind", "identity", "plan", "extendedLocation"):
            if extra in body:
                doc[extra] = copy.deepcopy(body[extra])
        return self.start_provisioning(ctx, doc, self.create_duration, created=True)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        """Default update (PUT on an existing resource): replace tags and writable properties."""
        self.check_immutable(doc, body)
        doc = copy.deepcopy(doc)
        if "tags" in body:
            doc["tags"] = dict(body.get("tags") or {})
        deep_merge(doc["properties"], copy.deepcopy(body.get("properties") or {}))
        for extra in ("sku", "zones", "identity"):
            if extra in body:
                doc[extra] = copy.deepcopy(body[extra])
        return self.start_provisioning(ctx, doc, self.update_duration, created=False)

    def check_immutable(self, doc: dict, body: dict) -> None:
        """Raise PropertyChangeNotAllowed when `body` changes a property that is fixed at creation."""
        location = body.get("location")
        if location and normalize_location(location) != doc["location"]:
            raise ArmError(
                400,
                "InvalidResourceLocation",
                f"The resource '{doc['name']}' already exists in location '{doc['location']}' in resource group. "
                f"A resource with the same name cannot be created in location '{normalize_location(location)}'.",
            )

    def patch(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        doc = self.require(ctx, resource_id)
        merged = copy.deepcopy(public(doc))
        if "tags" in body:
            merged["tags"] = dict(body.get("tags") or {})
        deep_merge(merged.setdefault("properties", {}), copy.deepcopy(body.get("properties") or {}))
        for extra in ("sku", "zones", "identity"):
            if extra in body:
                merged[extra] = copy.deepcopy(body[extra])
        return self.update(ctx, doc, merged)

    def start_provisioning(self, ctx: Ctx, doc: dict, duration: float, *, created: bool, **op_args) -> Answer:
        """Store `doc` as Creating/Updating and answer the LRO that turns it Succeeded (or Failed)."""
        doc["properties"]["provisioningState"] = "Creating" if created else "Updating"
        doc["_emu"]["etag"] = f'"{uuid.uuid4()}"'  # every write is a new version (If-Match relies on it)
        verb = "CreateOrUpdate"
        error = op_args.pop("error", None) or ctx.injected_error
        success = op_args.pop("success", [])
        failure = op_args.pop("failure", [])
        final = {"properties": {"provisioningState": "Succeeded"}}
        op = ctx.ops.start(
            f"{self.group}_{verb}",
            doc["id"],
            duration,
            success=[{"merge": doc["id"], "doc": final}, *success],
            failure=[{"merge": doc["id"], "doc": {"properties": {"provisioningState": "Failed"}}}, *failure],
            error=error,
            namespace=self.namespace,
            location=doc["location"],
            final_get=doc["id"],
            **op_args,
        )
        doc["_emu"]["op"] = op["id"]
        ctx.store.put(doc)
        status = self.create_status if created else 200
        return Started(op, status, self.render(ctx, doc), location=status == 202)

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        doc = ctx.store.get(resource_id)
        if doc is None:
            return Reply(status=204)
        self.check_delete(ctx, doc)
        effects = [*self.delete_effects(ctx, doc), {"delete_tree": doc["id"]}]
        doc["properties"]["provisioningState"] = "Deleting"
        ctx.store.put(doc)
        op = ctx.ops.start(
            f"{self.group}_Delete",
            doc["id"],
            self.delete_duration,
            success=effects,
            failure=[{"merge": doc["id"], "doc": {"properties": {"provisioningState": "Failed"}}}],
            error=ctx.injected_error,
            namespace=self.namespace,
            location=doc["location"],
        )
        return Started(op, 202, location=self.delete_location)

    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        """Raise when Azure refuses to delete `doc` in its current state."""

    def delete_effects(self, ctx: Ctx, doc: dict) -> list[dict]:
        """Changes to other resources when `doc` is gone (detaching disks, freeing NICs...)."""
        return []

    def action(self, ctx: Ctx, resource_id: str, name: str, body: dict) -> Answer:
        handler = self.actions.get(name.lower())
        if handler is None:
            raise ArmError(
                404,
                "InvalidResourceType",
                f"The resource type '{name}' could not be found in the namespace '{self.namespace}'.",
            )
        return handler(ctx, self.require(ctx, resource_id), body)


def check_resource_name(name: str) -> None:
    """ARM's rule for a new resource's name (400 InvalidResourceName)."""
    if _BAD_NAME.search(name) or name.endswith(".") or len(name) > 80:
        raise ArmError(
            400,
            "InvalidResourceName",
            f"Resource name {name} is invalid. The name can be up to 80 characters long and cannot contain < > % & : \\ ? / # * or end with a period.",
        )


def refuse_in_deleting_group(ctx: Ctx, resource_id: str) -> None:
    """ARM refuses writes into a resource group that is being deleted (409), as Azure does."""
    group_id = resource_id.split("/providers/", 1)[0]
    group = ctx.store.get(group_id)
    if group is not None and group.get("properties", {}).get("provisioningState") == "Deleting":
        raise ArmError(
            409,
            "ResourceGroupBeingDeleted",
            f"The resource group '{group['name']}' is in deprovisioning state and cannot perform this operation.",
        )


def check_preconditions(ctx: Ctx, existing: dict | None) -> None:
    """If-None-Match: * creates only; If-Match needs the current ETag (or * for any): else 412."""
    etag = (existing or {}).get("_emu", {}).get("etag")
    if ctx.if_none_match is not None and existing is not None and ctx.if_none_match.strip() in ("*", etag):
        raise ArmError(
            412, "PreconditionFailed", f"The resource '{existing['name']}' already exists (If-None-Match)."
        )
    if ctx.if_match is not None:
        wanted = ctx.if_match.strip()
        if existing is None or (wanted != "*" and wanted != etag):
            raise ArmError(
                412,
                "PreconditionFailed",
                "The condition specified using HTTP conditional header(s) is not met (If-Match).",
            )


def op_name(kind: Kind, verb: str) -> str:
    return f"{kind.group}_{verb}"
