"""What a resource handler needs to answer one request."""

from __future__ import annotations

from dataclasses import dataclass, field

from imagepipe.emulator import types
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
    path: str = ""  # the request's path (a list's nextLink repeats it)
    faults: Faults | None = None  # for rules that decide per item inside one request (scale set instances)


# The Compute types whose swagger definitions carry `etag` (VirtualMachine, VirtualMachineScaleSet
# and its VMs, from 2023-07-01); disks, snapshots, images and the gallery's types have none.
# Network types render their own. Every stored resource keeps an ETag for If-Match all the same.
_ETAG_TYPES = frozenset(t.lower() for t in (types.VM, types.VMSS, types.VMSS_VM))


def public(doc: dict) -> dict:
    """A stored resource without the emulator's private fields (its ETag shown as `etag` where
    the type's swagger has one)."""
    out = {k: v for k, v in doc.items() if k != "_emu"}
    etag = (doc.get("_emu") or {}).get("etag")
    if etag and str(doc.get("type", "")).lower() in _ETAG_TYPES:
        out["etag"] = etag
    return out
