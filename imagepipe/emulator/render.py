"""The one place rule answers become HTTP: status, polling headers and JSON bodies."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from imagepipe.emulator import timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.replies import Answer, Reply, Started
from imagepipe.emulator.retryafter import retry_after_headers


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
    if isinstance(reply.body, dict) and isinstance(reply.body.get("etag"), str):
        # resource-api-reference.md: an etag in the body "must also be provided as a header".
        headers.setdefault("ETag", reply.body["etag"])
    if reply.body is None:
        return Response(status_code=reply.status, headers=headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=headers)


def _started(ctx: Ctx, started: Started) -> Response:
    """Retry-After in whole seconds (generated SDK code parses this answer's header as an
    integer), the speed-scaled delay in retry-after-ms; the poller polls once straight away."""
    op = started.op
    advised = timing.poll_interval(ctx.ops.remaining(op), ctx.clock.speed)
    headers = {"x-ms-request-id": op["id"], **retry_after_headers(advised)}
    if started.async_header:
        headers["Azure-AsyncOperation"] = operation_url(ctx, op)
    if started.location:
        headers["Location"] = operation_url(ctx, op, monitor=True)
    if started.operation_results:
        headers["Location"] = operation_results_url(ctx, op["id"])
    return _reply(Reply(started.body, started.status, headers))
