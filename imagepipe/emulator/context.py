"""What a resource handler needs to answer one request."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from starlette.responses import JSONResponse, Response

from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.operations import Operations
from imagepipe.emulator.store import Store


@dataclass
class Ctx:
    store: Store
    ops: Operations
    clock: SimClock
    base_url: str
    subscription: str
    api_version: str
    query: dict[str, str] = field(default_factory=dict)
    injected_error: dict | None = None  # an LRO failure injected by a fault rule
    if_match: str | None = None  # conditional PUT headers (optimistic concurrency on ETags)
    if_none_match: str | None = None

    def op_url(self, op: dict, *, monitor: bool = False) -> str:
        extra = "monitor=true&" if monitor else ""
        return (
            f"{self.base_url}/subscriptions/{self.subscription}/providers/{op['namespace']}"
            f"/locations/{op['location'] or 'global'}/operations/{op['id']}?{extra}api-version={self.api_version}"
        )

    def lro(
        self,
        op: dict,
        status: int,
        body: dict | None = None,
        *,
        async_header: bool = True,
        location: bool = False,
    ) -> Response:
        """The first answer of a long-running operation, with the headers clients poll.

        Retry-After is whole seconds here (the SDK parses this answer's header as an integer);
        the poller polls once straight away, and the status answers carry the scaled delay.
        """
        headers = {"x-ms-request-id": op["id"], "Retry-After": str(max(1, math.ceil(self.ops.remaining(op))))}
        if async_header:
            headers["Azure-AsyncOperation"] = self.op_url(op)
        if location:
            headers["Location"] = self.op_url(op, monitor=True)
        if body is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)


def format_seconds(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def public(doc: dict) -> dict:
    """A stored resource without the emulator's private fields (its ETag shown as `etag`)."""
    out = {k: v for k, v in doc.items() if k != "_emu"}
    etag = (doc.get("_emu") or {}).get("etag")
    if etag:
        out["etag"] = etag
    return out
