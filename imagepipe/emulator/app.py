"""The ASGI application: identity, the admin API and ARM requests, with auth, throttling and faults."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from imagepipe.emulator import (
    admin,
    apiversions,
    bodyids,
    identity,
    limits,
    metering,
    render,
    routing,
    timing,
)
from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.faults import Decision, Faults
from imagepipe.emulator.ids import DEFAULT_CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID
from imagepipe.emulator.operations import Operations
from imagepipe.emulator.retryafter import retry_after_headers, whole_seconds
from imagepipe.emulator.stats import RequestLog, Stats
from imagepipe.emulator.store import DB_FILE, Store
from imagepipe.emulator.throttle import Throttle, arm_label, category
from imagepipe.emulator.tokens import TokenIssuer

log = logging.getLogger("imagepipe.emulator")
_METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]


class Backend:
    """Everything one emulator instance holds: store, clock-driven operations, buckets, counters."""

    def __init__(
        self,
        state_dir: Path,
        *,
        speed: float = 100.0,
        throttling: bool = True,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        db_name: str = DB_FILE,
        clock: SimClock | None = None,
    ) -> None:
        self.clock = clock or SimClock(speed)
        self.state_dir = state_dir
        self.client_secret = client_secret
        self.store = Store(state_dir, db_name)
        self.ops = Operations(self.store, self.clock)
        self.throttle = Throttle(enabled=throttling, clock=self.clock)
        self.tokens = TokenIssuer(state_dir)
        self.stats = Stats()
        self.faults = Faults()
        self.request_log = RequestLog(state_dir)

    @property
    def speed(self) -> float:
        return self.clock.speed

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.ops.reset()
        self.stats.reset()
        self.throttle.reset()
        self.faults.configure([], None)

    def close(self) -> None:
        self.request_log.switch(False)
        self.store.close()


def build_app(backend: Backend) -> Starlette:
    async def dispatch(request: Request) -> Response:
        started = time.perf_counter()
        response, operation, is_arm = await _handle(backend, request)
        elapsed = (time.perf_counter() - started) * 1000
        if is_arm:
            backend.stats.latency(elapsed)
        backend.request_log.write(request.method, request.url.path, response.status_code, operation, elapsed)
        return response

    return Starlette(routes=[StarletteRoute("/{path:path}", dispatch, methods=_METHODS)])


def _base_url(request: Request) -> str:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"https://{host}"


async def _handle(backend: Backend, request: Request) -> tuple[Response, str, bool]:
    segments = [s for s in request.url.path.split("/") if s]
    low = [s.lower() for s in segments]
    base_url = _base_url(request)
    if low[:1] == ["_emulator"]:
        return await admin.handle(backend, request, low[1:]), "Admin", False
    if low == ["metadata", "endpoints"]:
        return identity.cloud_metadata(base_url), "Metadata_Endpoints", False
    if len(low) >= 2 and low[-2:] == [".well-known", "openid-configuration"]:
        return identity.openid_configuration(base_url, segments[0]), "OpenId_Configuration", False
    if len(low) >= 3 and low[1] == "oauth2" and low[-1] == "token" and request.method == "POST":
        try:
            form = await limits.read_body(request, limits.TOKEN_BODY_LIMIT)
        except ArmError as error:
            return _error(error), "Token", False
        return identity.token(backend.tokens, backend.client_secret, segments[0], form), "Token", False
    route = routing.resolve(request.method, segments)
    if route is None:
        unknown = _error(
            ArmError(
                404,
                "NotFound",
                f"No HTTP resource was found that matches the request URI '{request.url.path}'.",
            )
        )
        _tracing_headers(request, unknown)
        return unknown, "Unknown", False
    return await _arm(backend, request, route), route.operation, True


async def _arm(backend: Backend, request: Request, route: routing.Route) -> Response:
    subscription = route.subscription
    response = _authenticate(backend, request, _base_url(request))
    if response is None:
        backend.stats.count(request.method, route.operation)
        kind = category(request.method)
        wait = backend.throttle.take(subscription or "-", kind, request.headers.get("x-ms-client-request-id"))
        if subscription and subscription.lower() != SUBSCRIPTION_ID:
            response = _error(
                ArmError(
                    404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
                )
            )
        elif wait > 0:
            backend.stats.count_throttled(arm_label(kind))
            response = _throttled(subscription, kind, wait)
        else:
            response = await _serve(backend, request, route)
    # ARM reports the bucket the request was counted against (reads for a GET, ...).
    kind = category(request.method)
    remaining = backend.throttle.remaining(subscription or "-")[kind]
    response.headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(remaining)
    _tracing_headers(request, response)
    return response


def _tracing_headers(request: Request, response: Response) -> None:
    """common-api-details.md: ARM's own request id, the caller's correlation id (else a new
    one), and the client's request id echoed only when it asks with x-ms-return-client-request-id."""
    response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    response.headers["x-ms-correlation-request-id"] = request.headers.get(
        "x-ms-correlation-request-id"
    ) or str(uuid.uuid4())
    client_request_id = request.headers.get("x-ms-client-request-id")
    wants_echo = request.headers.get("x-ms-return-client-request-id", "").lower() == "true"
    if client_request_id and wants_echo:
        response.headers["x-ms-client-request-id"] = client_request_id


def _authenticate(backend: Backend, request: Request, base_url: str) -> Response | None:
    header = request.headers.get("authorization", "")
    if not header:
        return _unauthorized(
            ArmError(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            ),
            base_url,
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not backend.tokens.check(token.strip()):
        return _unauthorized(
            ArmError(401, "InvalidAuthenticationToken", "The access token is invalid or has expired."),
            base_url,
        )
    return None


def _unauthorized(error: ArmError, base_url: str) -> Response:
    """A 401 with the RFC 6750 challenge ARM sends; the authority is the emulator's own
    (its /metadata/endpoints names itself as the cloud's login endpoint)."""
    response = _error(error)
    description = error.message.replace('"', "'")
    response.headers["WWW-Authenticate"] = (
        f'Bearer authorization_uri="{base_url}/{TENANT_ID}", error="invalid_token", '
        f'error_description="{description}"'
    )
    return response


def _throttled(subscription: str, kind: str, wait: float) -> Response:
    singular = {"reads": "read", "writes": "write", "deletes": "delete"}[kind]
    return JSONResponse(
        {
            "error": {
                "code": "SubscriptionRequestsThrottled",
                "message": f"Number of '{singular}' requests for subscription '{subscription}' exceeded the limit. "
                f"Please try again after '{whole_seconds(wait)}' seconds.",
            }
        },
        status_code=429,
        headers=retry_after_headers(wait),
    )


async def _serve(backend: Backend, request: Request, route: routing.Route) -> Response:
    api_version = request.query_params.get("api-version")
    try:
        body = bodyids.absolute_ids(limits.parse_json(await limits.read_body(request, limits.ARM_BODY_LIMIT)))
        location = body.get("location") if isinstance(body, dict) else None
        segments = [s for s in request.url.path.split("/") if s]
        apiversions.check(apiversions.type_of(segments), api_version, str(location or ""))
        if request.method in ("PUT", "PATCH"):
            limits.check_tags(body)
    except ArmError as error:
        return _error(error)
    decision = backend.faults.decide(route.operation)
    if decision.latency_ms:
        await asyncio.sleep(decision.latency_ms / 1000)
    if decision.status is not None:
        advised = retry_after_headers(timing.poll_interval(1.0, backend.speed))
        headers = advised if decision.retry_after else {}
        return JSONResponse(
            decision.error_body(route.operation), status_code=decision.status, headers=headers
        )
    # The resource provider's own budgets, after ARM's (Compute, Network: budgets.py).
    with backend.store.lock:
        charge = metering.charge_of(request.method, segments, body, backend.store)
    spent = metering.spend(backend.throttle, route.subscription or "-", charge)
    if spent.refused is not None:
        backend.stats.count_throttled(spent.refused.label)
        return metering.throttled(spent, backend.clock.now())
    response = _handled(backend, request, route, body, decision, api_version)
    if spent.remaining:  # every Compute (and Network) answer: the policies it counted against
        response.headers[metering.REMAINING_HEADER] = metering.remaining_header(spent)
    return response


def _handled(
    backend: Backend,
    request: Request,
    route: routing.Route,
    body: object,
    decision: Decision,
    api_version: str | None,
) -> Response:
    ctx = Ctx(
        store=backend.store,
        ops=backend.ops,
        clock=backend.clock,
        base_url=_base_url(request),
        subscription=route.subscription,
        api_version=api_version or "",
        query=dict(request.query_params),
        path=request.url.path,
        injected_error=decision.lro_error,
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
        faults=backend.faults,
    )
    with backend.store.lock:
        try:
            # Persisted before the answer leaves: a write SQLite could not commit is rolled back
            # in memory too, and the client gets an error, never a success it cannot keep.
            with backend.store.transaction():
                backend.ops.settle()
                try:
                    return render.response(ctx, route.handler(ctx, body))
                except ArmError as error:
                    return _error(error)
        except (TypeError, AttributeError, KeyError, ValueError) as error:
            # A body of the wrong shape (a string where an object belongs, ...): the client's fault.
            backend.ops.resync()
            log.debug("malformed %s request for %s", route.operation, request.url.path, exc_info=True)
            detail = f"{type(error).__name__}: {error}"[:200]
            return _error(
                ArmError(
                    400,
                    "InvalidRequestContent",
                    f"The request content was invalid and could not be processed ({detail}).",
                )
            )
        except Exception as failure:
            backend.ops.resync()
            # One line where the emulator is embedded in a CLI run (no traceback on a user's
            # terminal); the traceback for whoever turns debug logging on.
            log.error(
                "internal error while serving %s: %s: %s", route.operation, type(failure).__name__, failure
            )
            log.debug("traceback of the internal error", exc_info=True)
            return _error(
                ArmError(
                    500, "InternalServerError", "The emulator failed to process the request; see its log."
                )
            )


def _error(error: ArmError) -> Response:
    return render.error_response(error)
