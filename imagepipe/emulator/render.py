"""The one place rule answers become HTTP: status, polling headers and JSON bodies."""

from __future__ import annotations

import math

from starlette.responses import JSONResponse, Response

from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.replies import Answer, Reply, Started


def response(ctx: Ctx, answer: Answer) -> Response:
    if isinstance(answer, Started):
        return _started(ctx, answer)
    return _reply(answer)


def error_response(error: ArmError) -> Response:
    return JSONResponse(error.body(), status_code=error.status)


def operation_url(ctx: Ctx, op: dict, *, monitor: bool = False) -> str:
    """The status URL of `op` (Azure-AsyncOperation), or with monitor=true its Location URL."""
    extra = "monitor=true&" if monitor else ""
    return (
        f"{ctx.base_url}/subscriptions/{ctx.subscription}/providers/{op['namespace']}"
        f"/locations/{op['location'] or 'global'}/operations/{op['id']}?{extra}api-version={ctx.api_version}"
    )


def operation_results_url(ctx: Ctx, op_id: str) -> str:
    """Resource Manager's own Location URL for an operation (resource group delete)."""
    return f"{ctx.base_url}/subscriptions/{ctx.subscription}/operationresults/{op_id}?api-version={ctx.api_version}"


def _reply(reply: Reply) -> Response:
    headers = dict(reply.headers)
    if reply.body is None:
        return Response(status_code=reply.status, headers=headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=headers)


def _started(ctx: Ctx, started: Started) -> Response:
    """Retry-After is whole seconds here (the SDK parses this answer's header as an integer);
    the poller polls once straight away, and the status answers carry the scaled delay."""
    op = started.op
    headers = {"x-ms-request-id": op["id"], "Retry-After": str(max(1, math.ceil(ctx.ops.remaining(op))))}
    if started.async_header:
        headers["Azure-AsyncOperation"] = operation_url(ctx, op)
    if started.location:
        headers["Location"] = operation_url(ctx, op, monitor=True)
    if started.operation_results:
        headers["Location"] = operation_results_url(ctx, op["id"])
    return _reply(Reply(started.body, started.status, headers))
