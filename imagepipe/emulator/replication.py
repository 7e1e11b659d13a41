"""Gallery image version replication: when each region's replicas are done, and what they report.

A version stores, per region, when replication started and when it is done (instants on
the emulator's clock) and whether it failed. Everything here reads that schedule against
the clock; the gallery kind writes it and image sources read it.
"""

from __future__ import annotations

from imagepipe.emulator import timing
from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.ids import normalize_location


def replica_state(clock: SimClock, version: dict, region: str) -> str:
    """Replicating until the region's simulated replication time is over, then Completed.

    A version whose operation was decided Failed never completes a replica: its regions
    report Failed from the moment the operation fails, as Azure's do.
    """
    entry = version["_emu"].get("replication", {}).get(normalize_location(region))
    if entry is None:
        return "Unknown"
    if clock.now() < entry["done"]:
        return "Replicating"
    return "Failed" if entry.get("failed") else "Completed"


def schedule(clock: SimClock, regions: list[dict], old: dict, now: float) -> dict:
    """When each region's replica completes (regions already replicated keep their times)."""
    out = {}
    for index, region in enumerate(regions):
        name = normalize_location(region["name"])
        if name in old:
            out[name] = old[name]
            continue
        simulated = (
            timing.GALLERY_VERSION_BASE + timing.REPLICATION_PER_REGION + index * timing.REPLICATION_STAGGER
        )
        out[name] = {"start": now, "done": now + clock.span(simulated)}
    return out


def version_duration(clock: SimClock, replication: dict, now: float) -> float:
    """The version's LRO ends when the last replica completes (in simulated seconds)."""
    last = max(entry["done"] for entry in replication.values())
    return max(clock.span(timing.GALLERY_CREATE), last - now) * clock.speed


def fail_all(replication: dict, error: dict, failed_at: float) -> dict:
    """Every region of a version whose operation fails ends Failed (never Completed) when it fails."""
    return {
        region: {**entry, "done": min(entry["done"], failed_at), "failed": True, "error": error}
        for region, entry in replication.items()
    }


def status(clock: SimClock, version: dict) -> dict:
    """The `replicationStatus` a GET with `$expand=ReplicationStatus` shows."""
    summary = []
    now = clock.now()
    for region in version["properties"]["publishingProfile"]["targetRegions"]:
        entry = version["_emu"]["replication"].get(normalize_location(region["name"]))
        state = replica_state(clock, version, region["name"])
        progress = 100 if state == "Completed" else _progress(entry, now)
        details = _failure_details(entry) if state == "Failed" else ""
        summary.append({"region": region["name"], "state": state, "details": details, "progress": progress})
    return {"aggregatedState": _aggregated([s["state"] for s in summary]), "summary": summary}


def _aggregated(states: list[str]) -> str:
    if any(state == "Failed" for state in states):
        return "Failed"
    return "Completed" if all(state == "Completed" for state in states) else "InProgress"


def _failure_details(entry: dict | None) -> str:
    error = (entry or {}).get("error") or {}
    return f"{error.get('code', 'InternalError')}: {error.get('message', 'Replication failed.')}"


def _progress(entry: dict | None, now: float) -> int:
    if not entry:
        return 0
    span = max(entry["done"] - entry["start"], 1e-9)
    return int(min(99, max(0, (now - entry["start"]) / span * 100)))
