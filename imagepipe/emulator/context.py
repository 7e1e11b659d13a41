"""What a resource handler needs to answer one request."""

from __future__ import annotations

from dataclasses import dataclass, field

from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.faults import Faults
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
    faults: Faults | None = None  # for rules that decide per item inside one request (scale set instances)


def format_seconds(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def public(doc: dict) -> dict:
    """A stored resource without the emulator's private fields (its ETag shown as `etag`)."""
    out = {k: v for k, v in doc.items() if k != "_emu"}
    etag = (doc.get("_emu") or {}).get("etag")
    if etag:
        out["etag"] = etag
    return out
