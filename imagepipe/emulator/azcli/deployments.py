"""Microsoft.Resources/deployments: template deployments into a resource group (what `az vm create` sends).

A deployment evaluates its inline template (`imagepipe.emulator.template`), then creates
each resource through the emulator's own resource handlers, dependencies first: each
resource's operation begins when the operations it depends on end, so the deployment,
one long-running operation, lasts as long as its critical path. A resource whose handler
refuses it, or whose operation will fail, fails the deployment (`DeploymentFailed`, with
the resource errors as details) and the resources depending on it are never started;
resources already created stay, as in Azure (incremental mode).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from http import HTTPStatus

import imagepipe.emulator.azcli.template as template
from imagepipe.emulator import apiversions, ids
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.ids import TENANT_ID
from imagepipe.emulator.kinds.base import KINDS, Kind
from imagepipe.emulator.operations import iso
from imagepipe.emulator.replies import Answer, Reply, Started
from imagepipe.emulator.types import DEPLOYMENT, DEPLOYMENT_OPERATION

ARM_OVERHEAD = 1.0  # simulated seconds Resource Manager adds around a deployment
_FAILED_MESSAGE = (
    "At least one resource deployment operation failed. Please list deployment operations for details. "
    "Please see https://aka.ms/arm-deployment-operations for usage details."
)


def invalid_template(message: str) -> ArmError:
    return ArmError(400, "InvalidTemplate", f"Deployment template validation failed: '{message}'.")


def _iso_duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.3f}S"


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


@dataclasses.dataclass
class _Outcome:
    """What became of one planned resource."""

    end: float  # wall time its operation ends (or it was refused)
    error: dict | None
    record: dict  # its deployment operation, as `operations` shows it


class Deployments(Kind):
    type_name = DEPLOYMENT
    group = "Deployments"
    namespace = "Microsoft.Resources"
    needs_location = False
    create_status = 201

    # rendering -----------------------------------------------------------------------------------
    def render(self, ctx: Ctx, doc: dict) -> dict:
        props = copy.deepcopy(doc["properties"])
        emu = doc["_emu"]
        op = ctx.store.operations.get(emu.get("op") or "")
        if op is not None:
            running = ctx.ops.status(op) == "InProgress"
            props["duration"] = _iso_duration((ctx.clock.now() if running else op["end"]) - op["start"])
            if not running:
                props["timestamp"] = iso(op["end"])
                props["outputResources"] = [
                    {"id": r["targetResource"]["id"]}
                    for r in emu.get("operations", [])
                    if _operation_state(ctx, r) == "Succeeded"
                ]
        out = {"id": doc["id"], "name": doc["name"], "type": DEPLOYMENT, "properties": props}
        if doc.get("tags"):
            out["tags"] = doc["tags"]
        return out

    # create / redeploy ---------------------------------------------------------------------------
    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        return self._deploy(ctx, doc, body, created=True)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self._refuse_active(ctx, doc, "edit or replace")
        fresh = {k: doc[k] for k in ("id", "name", "type", "location")}
        fresh.update(tags=dict(body.get("tags") or {}), properties={}, _emu={})
        return self._deploy(ctx, fresh, body, created=False)

    def _refuse_active(self, ctx: Ctx, doc: dict, verb: str) -> None:
        op = ctx.store.operations.get(doc["_emu"].get("op") or "")
        if op is not None and ctx.ops.status(op) == "InProgress":
            raise ArmError(
                409,
                "DeploymentActive",
                f"Unable to {verb} deployment '{doc['name']}': the previous deployment is still active. "
                "Please see https://aka.ms/arm-deploy for usage details.",
            )

    def _deploy(self, ctx: Ctx, doc: dict, body: dict, *, created: bool) -> Answer:
        properties = _properties(body)
        plan = self._plan(ctx, doc["id"], properties)
        started = ctx.clock.now()
        outcomes = self._run(ctx, plan, started)
        failures = [o.error for o in outcomes.values() if o.error]
        error = None
        if failures:
            error = {
                "code": "DeploymentFailed",
                "target": doc["id"],
                "message": _FAILED_MESSAGE,
                "details": [_scrub_error(f, plan.secure_values) for f in failures],
            }
        error = error or ctx.injected_error
        end = max([started, *(o.end for o in outcomes.values())])
        duration = (end - started) * ctx.clock.speed + ARM_OVERHEAD
        doc["properties"] = {
            "provisioningState": "Running",
            "mode": "Incremental",
            "templateHash": plan.template_hash,
            "parameters": plan.parameters,
            "timestamp": iso(started),
            "correlationId": str(uuid.uuid4()),
            "providers": _providers(plan),
            "dependencies": _dependencies(plan),
        }
        doc["_emu"]["operations"] = [o.record for o in outcomes.values()]
        final: dict = {"properties": {"provisioningState": "Succeeded", "outputs": plan.outputs}}
        failed: dict = {"properties": {"provisioningState": "Failed", "error": error}}
        op = ctx.ops.start(
            "Deployments_CreateOrUpdate",
            doc["id"],
            duration,
            success=[{"merge": doc["id"], "doc": final}],
            failure=[{"merge": doc["id"], "doc": failed}],
            error=error,
            namespace=self.namespace,
            location="",
            final_get=doc["id"],
        )
        doc["_emu"]["op"] = op["id"]
        ctx.store.put(doc)
        answer = self.render(ctx, doc)
        answer["properties"]["provisioningState"] = "Accepted"
        return Started(op, 201 if created else 200, answer)

    def _plan(self, ctx: Ctx, deployment_id: str, properties: dict) -> template.Plan:
        parts = ids.split(deployment_id)
        group = ctx.store.get(ids.group_id(parts["subscription"], parts["group"]))
        assert group is not None  # the router found the group before calling the handler
        scope = template.Scope(
            subscription=ctx.subscription,
            tenant=TENANT_ID,
            group=group["name"],
            group_location=group["location"],
        )
        try:
            plan = template.plan(properties["template"], properties.get("parameters"), scope)
        except template.TemplateError as error:
            raise invalid_template(str(error)) from None
        for res in plan.resources:
            kind = KINDS.get(res.type.lower())
            if kind is None or isinstance(kind, (Deployments, DeploymentOperations)):
                raise invalid_template(
                    f"The resource type '{res.type}' of template resource '{res.name}' is not supported by the emulator"
                )
            # A template resource names its api-version as a request would: the same versions apply.
            apiversions.check(res.type, res.api_version, str(res.body.get("location") or ""))
        return plan

    def _run(self, ctx: Ctx, plan: template.Plan, started: float) -> dict[str, _Outcome]:
        """Create each resource, dependencies first, each starting when its dependencies end."""
        outcomes: dict[str, _Outcome] = {}
        enabled = {r.id for r in plan.resources if r.enabled}
        for res in plan.order:  # dependencies come first
            if res.id not in enabled:
                continue
            deps = [d for d in res.depends_on if d in enabled]  # a disabled dependency is dropped
            if any(d not in outcomes or outcomes[d].error for d in deps):
                continue  # a dependency failed or never started: ARM does not start this one
            ready = max([started, *(outcomes[d].end for d in deps)])
            outcomes[res.id] = self._create_one(ctx, res, ready, plan.secure_values)
        return outcomes

    def _create_one(
        self, ctx: Ctx, res: template.PlannedResource, ready: float, secrets: list[str]
    ) -> _Outcome:
        kind = KINDS[res.type.lower()]
        child_ctx = dataclasses.replace(
            ctx, api_version=res.api_version, query={}, injected_error=None, if_match=None, if_none_match=None
        )
        resource_id = _canonical_id(kind, res.id)
        record = {
            "operationId": uuid.uuid4().hex[:16].upper(),
            "provisioningOperation": "Create" if ctx.store.get(resource_id) is None else "Update",
            "targetResource": {
                "id": resource_id,
                "resourceType": kind.type_name,
                "resourceName": res.name,
                "apiVersion": res.api_version,
            },
            "start": ready,
        }
        try:
            with ctx.ops.deferred(ready - ctx.clock.now()):
                answer = kind.put(child_ctx, resource_id, copy.deepcopy(res.body))
        except ArmError as error:
            refused = error
        except (TypeError, AttributeError, KeyError, ValueError) as error:
            # A body of the wrong shape, as a direct PUT would answer it.
            detail = f"{type(error).__name__}: {error}"[:200]
            refused = ArmError(
                400, "InvalidRequestContent", f"The resource content could not be processed ({detail})."
            )
        else:
            refused = None
        if refused is not None:
            record.update(
                statusCode=refused.status, end=ready, error=_scrub_error(refused.body()["error"], secrets)
            )
            return _Outcome(end=ready, error=record["error"], record=record)
        record["statusCode"] = answer.status
        if not isinstance(answer, Started):  # answered synchronously: done now
            record["end"] = ready
            return _Outcome(end=ready, error=None, record=record)
        op = answer.op
        record["op"] = op["id"]
        record["end"] = op["end"]
        error = _scrub_error(op["error"], secrets) if op["outcome"] == "Failed" and op["error"] else None
        return _Outcome(end=op["end"], error=error, record=record)

    # validate ------------------------------------------------------------------------------------
    def action(self, ctx: Ctx, resource_id: str, name: str, body: dict) -> Answer:
        if name.lower() == "validate":
            return self._validate(ctx, resource_id, body)
        return super().action(ctx, resource_id, name, body)

    def _validate(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        plan = self._plan(ctx, resource_id, _properties(body))
        ctx.ops.record("Deployments_Validate", resource_id)
        return Reply(
            {
                "id": resource_id,
                "name": ids.name_of(resource_id),
                "type": DEPLOYMENT,
                "properties": {
                    "provisioningState": "Succeeded",
                    "mode": "Incremental",
                    "templateHash": plan.template_hash,
                    "parameters": plan.parameters,
                    "timestamp": iso(ctx.clock.now()),
                    "correlationId": str(uuid.uuid4()),
                    "providers": _providers(plan),
                    "dependencies": _dependencies(plan),
                    "validatedResources": [
                        {"id": _canonical_id(KINDS[r.type.lower()], r.id)} for r in plan.order if r.enabled
                    ],
                },
            }
        )

    # delete --------------------------------------------------------------------------------------
    def check_delete(self, ctx: Ctx, doc: dict) -> None:
        self._refuse_active(ctx, doc, "delete")

    def delete_effects(self, ctx: Ctx, doc: dict) -> list[dict]:
        return []  # deleting a deployment forgets its record; the resources it made stay


def _properties(body: dict) -> dict:
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise ArmError(400, "InvalidRequestContent", "The deployment 'properties' are missing.")
    if properties.get("templateLink") or properties.get("parametersLink"):
        raise invalid_template(
            "Linked templates and parameter files (templateLink, parametersLink) are not supported by the emulator; "
            "send the template inline"
        )
    if not isinstance(properties.get("template"), dict):
        raise ArmError(
            400, "InvalidRequestContent", "The deployment 'properties.template' must be a JSON object."
        )
    mode = str(properties.get("mode") or "Incremental")
    if mode.lower() != "incremental":
        raise invalid_template(f"Deployment mode '{mode}' is not supported by the emulator; use Incremental")
    return properties


def _canonical_id(kind: Kind, resource_id: str) -> str:
    """The id with the type's documented casing (names and the group as the template spells them)."""
    head, _, tail = resource_id.partition("/providers/")
    names = tail.split("/")[2::2]
    segments = kind.type_name.split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(segments[1:], names, strict=True))
    return f"{head}/providers/{segments[0]}/{path}"


def _scrub_error(error: dict, secrets: list[str]) -> dict:
    """A resource error as the deployment reports it; a secure parameter value never shows."""
    return json.loads(_scrub(json.dumps(error), [json.dumps(s)[1:-1] for s in secrets]))


def _operation_state(ctx: Ctx, record: dict) -> str:
    if record.get("error"):
        return "Failed"
    op = ctx.store.operations.get(record.get("op") or "")
    if op is None:
        return "Succeeded"
    status = ctx.ops.status(op)
    return "Running" if status == "InProgress" else status


def _providers(plan: template.Plan) -> list[dict]:
    by_namespace: dict[str, dict[str, set[str]]] = {}
    for res in plan.resources:
        namespace, _, rest = res.type.partition("/")
        location = str(res.body.get("location") or "")
        types = by_namespace.setdefault(namespace, {})
        types.setdefault(rest, set()).update([location] if location else [])
    return [
        {
            "namespace": namespace,
            "resourceTypes": [{"resourceType": t, "locations": sorted(locs)} for t, locs in types.items()],
        }
        for namespace, types in by_namespace.items()
    ]


def _dependencies(plan: template.Plan) -> list[dict]:
    def ref(resource: template.PlannedResource) -> dict:
        return {"id": resource.id, "resourceType": resource.type, "resourceName": resource.name}

    by_id = {r.id: r for r in plan.resources}
    return [
        {**ref(r), "dependsOn": [ref(by_id[d]) for d in r.depends_on]} for r in plan.resources if r.depends_on
    ]


class DeploymentOperations(Kind):
    """`deployments/{name}/operations[/{id}]`: one per resource the deployment started (read only)."""

    type_name = DEPLOYMENT_OPERATION
    group = "DeploymentOperations"
    namespace = "Microsoft.Resources"
    needs_location = False

    def list_under(self, ctx: Ctx, parent: dict) -> list[dict]:
        return [_render_operation(ctx, parent, r) for r in parent["_emu"].get("operations", [])]

    def require(self, ctx: Ctx, resource_id: str) -> dict:
        deployment = ctx.store.get(ids.parent_of(resource_id))
        wanted = ids.name_of(resource_id).lower()
        if deployment is not None and deployment["type"] == DEPLOYMENT:
            for record in deployment["_emu"].get("operations", []):
                if record["operationId"].lower() == wanted:
                    return _render_operation(ctx, deployment, record)
        raise ArmError(
            404,
            "DeploymentOperationNotFound",
            f"The deployment operation '{ids.name_of(resource_id)}' could not be found.",
        )

    def render(self, ctx: Ctx, doc: dict) -> dict:
        return doc

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        raise _read_only()

    def patch(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        raise _read_only()

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        raise _read_only()


def _status_name(status: int) -> str:
    return HTTPStatus(status).phrase.replace(" ", "")


def _read_only() -> ArmError:
    return ArmError(405, "MethodNotAllowed", "Deployment operations are read only.")


def _render_operation(ctx: Ctx, deployment: dict, record: dict) -> dict:
    state = _operation_state(ctx, record)
    op = ctx.store.operations.get(record.get("op") or "")
    status_code = record["statusCode"]
    props: dict = {
        "provisioningOperation": record["provisioningOperation"],
        "provisioningState": state,
        "timestamp": iso(record["end"] if state != "Running" else ctx.clock.now()),
        "duration": _iso_duration(
            (record["end"] if state != "Running" else ctx.clock.now()) - record["start"]
        ),
        "trackingId": record["operationId"].lower(),
        "targetResource": record["targetResource"],
    }
    if state == "Failed" and record.get("error"):  # refused by the resource handler
        props["statusCode"] = _status_name(status_code)
        props["statusMessage"] = {"status": "Failed", "error": record["error"]}
    elif state == "Failed":  # its operation failed
        props["statusCode"] = "Conflict"
        props["statusMessage"] = {"status": "Failed", "error": (op or {}).get("error")}
    elif state == "Succeeded":
        props["statusCode"] = _status_name(status_code)
        props["statusMessage"] = {"status": "Succeeded"}
    return {
        "id": f"{deployment['id']}/operations/{record['operationId']}",
        "operationId": record["operationId"],
        "properties": props,
    }
