"""The admin API under /_emulator/: stats, faults, reset, journal, request log, clock. Loopback clients only."""

from __future__ import annotations

import ipaddress
from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imagepipe.emulator import ids, limits, render
from imagepipe.emulator.catalogue import CATALOGUE
from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.errors import ArmError
from imagepipe.emulator.faults import FaultError, Faults, parse_budgets, parse_rules
from imagepipe.emulator.operations import Operations, iso
from imagepipe.emulator.stats import RequestLog, Stats
from imagepipe.emulator.store import Store
from imagepipe.emulator.throttle import Throttle


class Backend(Protocol):
    """What the admin API reads and steers: the emulator's backend (app.Backend), seen from here."""

    clock: SimClock
    store: Store
    ops: Operations
    stats: Stats
    faults: Faults
    throttle: Throttle
    request_log: RequestLog

    def reset(self) -> None: ...


def _is_loopback(request: Request) -> bool:
    """A loopback address exactly (a prefix test would let ``::10`` or ``127.example.com`` in)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


async def _json(request: Request) -> object:
    return limits.parse_json(await limits.read_body(request, limits.ARM_BODY_LIMIT))


async def handle(backend: Backend, request: Request, path: list[str]) -> Response:
    if not _is_loopback(request):
        return JSONResponse(
            {"error": {"code": "Forbidden", "message": "The admin API answers loopback clients only."}},
            status_code=403,
        )
    endpoint = (request.method, "/".join(path))
    try:
        if endpoint == ("GET", "stats"):
            return JSONResponse(backend.stats.snapshot(backend.store.count_by_type()))
        if endpoint == ("GET", "faults"):
            return JSONResponse(_faults(backend))
        if endpoint == ("POST", "faults"):
            payload = await _json(request) or []
            rules, seed = parse_rules(payload)
            budgets = parse_budgets(payload)
            backend.faults.configure(rules, seed)
            if budgets is not None or backend.throttle.overrides:
                backend.throttle.configure(budgets or {})
            return JSONResponse(_faults(backend))
        if endpoint == ("POST", "reset"):
            backend.reset()
            return JSONResponse({"reset": True})
        if endpoint == ("GET", "journal"):
            return JSONResponse(
                {
                    "value": _journal(
                        backend, request.query_params.get("resource"), request.query_params.get("name")
                    )
                }
            )
        if endpoint == ("POST", "requestlog"):
            payload = await _json(request)
            enabled = bool(payload.get("enabled", True)) if isinstance(payload, dict) else bool(payload)
            backend.request_log.switch(enabled)
            return JSONResponse(
                {"enabled": backend.request_log.enabled, "path": str(backend.request_log.path)}
            )
        if endpoint == ("GET", "clock"):
            return JSONResponse(_clock(backend))
        if endpoint == ("POST", "clock"):
            _set_clock(backend, await _json(request))
            return JSONResponse(_clock(backend))
        if endpoint == ("GET", "aliases.json"):
            return JSONResponse(_aliases())
        if endpoint == ("GET", "requestlog"):
            return JSONResponse(
                {"enabled": backend.request_log.enabled, "path": str(backend.request_log.path)}
            )
    except ArmError as error:
        return render.error_response(error)
    except (FaultError, ValueError) as error:
        return JSONResponse({"error": {"code": "InvalidRequest", "message": str(error)}}, status_code=400)
    return JSONResponse(
        {
            "error": {
                "code": "NotFound",
                "message": f"No admin endpoint {endpoint[0]} /_emulator/{endpoint[1]}.",
            }
        },
        status_code=404,
    )


def _faults(backend: Backend) -> dict:
    budgets = {
        label: {"capacity": o.capacity, "per_minute": o.per_minute}
        for label, o in backend.throttle.overrides.items()
    }
    return {
        "rules": [r.as_dict() for r in backend.faults.rules],
        "seed": backend.faults.seed,
        "budgets": budgets,
    }


def _clock(backend: Backend) -> dict:
    clock = backend.clock
    return {"now": iso(clock.now()), "speed": clock.speed, "paused": clock.paused}


def _set_clock(backend: Backend, payload: object) -> None:
    """`{"paused": true|false}` stops or restarts time; `{"advance": s}` skips s simulated seconds."""
    usage = 'Send {"advance": <simulated seconds, 0 or more>} and/or {"paused": true|false}.'
    if not isinstance(payload, dict) or not payload or set(payload) - {"advance", "paused"}:
        raise ValueError(usage)
    paused = payload.get("paused")
    seconds = payload.get("advance", 0)
    if (paused is not None and not isinstance(paused, bool)) or isinstance(seconds, bool):
        raise ValueError(usage)
    if not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError(usage)
    if paused is True:
        backend.clock.pause()
    backend.clock.advance(float(seconds))
    if paused is False:
        backend.clock.resume()


def _aliases() -> dict:
    """The az CLI's image alias document, for the emulator's catalogue."""
    value: dict[str, dict] = {"Linux": {}, "Windows": {}}
    for image in CATALOGUE:
        if image.alias:
            value[image.os_type][image.alias] = {
                "publisher": image.publisher,
                "offer": image.offer,
                "sku": image.sku,
                "version": "latest",
                "architecture": "x64",
            }
    return {"outputs": {"aliases": {"type": "Object", "value": value}}}


def _journal(backend: Backend, resource: str | None, name: str | None) -> list[dict]:
    wanted = ids.key(resource) if resource else None
    entries = []
    with backend.store.lock:
        backend.ops.settle()
        operations = sorted(backend.store.operations.values(), key=lambda op: op["start"])
        for op in operations:
            if wanted and ids.key(op["resource_id"]) != wanted:
                continue
            if name and op["name"].lower() != name.lower():
                continue
            status = backend.ops.status(op)
            entry = {
                "id": op["id"],
                "name": op["name"],
                "resourceId": op["resource_id"],
                "status": status,
                "startTime": iso(op["start"]),
                "endTime": iso(op["end"]) if status != "InProgress" else None,
            }
            if status == "Failed" and op.get("error"):
                entry["error"] = op["error"]
            entries.append(entry)
    return entries
