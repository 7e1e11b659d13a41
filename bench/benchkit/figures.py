"""The figures every benchmark reports: request deltas, the lower bound, efficiency, the JSON line.

Azure facts behind the lower bound (DESIGN.md section 1): a VM takes about 60 s to
provision; a managed image, or one gallery replica, serves at most 20 concurrent
deployments; ARM's write bucket holds 200 tokens and refills 10 per second.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

VM_CREATE_SECONDS = 60.0
DEPLOYMENTS_PER_IMAGE_SOURCE = 20  # per managed image, or per gallery replica
WRITE_BUCKET_CAPACITY = 200
WRITE_REFILL_PER_SECOND = 10.0
COMPUTE_CREATE_CAPACITY = 1500  # Learn "Compute throttling limits": VM creates per subscription and region
COMPUTE_CREATE_PER_SECOND = 500 / 60
READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("PUT", "POST", "PATCH")
POLL_OPERATIONS = ("OperationStatus_Get", "OperationResults_Get")
CELL_WIDTH = 48


@dataclass(frozen=True)
class ImageLoad:
    """VMs created from one image source: a managed image, or a gallery version in one region."""

    key: str
    vms: int
    replicas: int = 1
    per_replica: int = DEPLOYMENTS_PER_IMAGE_SOURCE
    region: str = ""


@dataclass(frozen=True)
class RequestCounts:
    """What the emulator served during the measured phase (deltas of its stats)."""

    reads: int
    writes: int
    deletes: int
    polls: int
    throttled: int
    operations: dict[str, int]
    latency_ms: dict[str, float]
    throttled_by_policy: dict[str, int] | None = None

    @property
    def accepted_writes(self) -> int:
        # Throttled answers count as requests but spend no token; the split of the 429s
        # by kind is unknown, so they are all taken off (a conservative lower bound).
        return max(0, self.writes - self.throttled)


def request_deltas(before: Mapping[str, Any], after: Mapping[str, Any]) -> RequestCounts:
    """Differences of two `GET /_emulator/stats` answers; latency is the emulator's recent window."""

    def method_delta(methods: Iterable[str]) -> int:
        return sum(after["requests"].get(m, 0) - before["requests"].get(m, 0) for m in methods)

    operations = {
        name: count - before.get("operations", {}).get(name, 0)
        for name, count in after.get("operations", {}).items()
        if count - before.get("operations", {}).get(name, 0)
    }
    return RequestCounts(
        reads=method_delta(READ_METHODS),
        writes=method_delta(WRITE_METHODS),
        deletes=method_delta(("DELETE",)),
        polls=sum(operations.get(name, 0) for name in POLL_OPERATIONS),
        throttled=after.get("throttled", 0) - before.get("throttled", 0),
        operations=operations,
        latency_ms=dict(after.get("latency_ms") or {}),
        throttled_by_policy={
            name: count - before.get("throttled_by_policy", {}).get(name, 0)
            for name, count in after.get("throttled_by_policy", {}).items()
            if count - before.get("throttled_by_policy", {}).get(name, 0)
        },
    )


def critical_path_seconds(loads: Iterable[ImageLoad]) -> float:
    """Rounds of VM creates the busiest image source needs, each one VM create long."""
    rounds = [math.ceil(load.vms / (load.per_replica * load.replicas)) for load in loads if load.vms]
    return max(rounds, default=0) * VM_CREATE_SECONDS


def write_bucket_seconds(writes: int) -> float:
    """Time the subscription's write bucket needs to grant `writes` tokens, starting full."""
    return max(0.0, (writes - WRITE_BUCKET_CAPACITY) / WRITE_REFILL_PER_SECOND)


def lower_bound_seconds(loads: Iterable[ImageLoad], writes: int) -> float:
    return max(critical_path_seconds(loads), write_bucket_seconds(writes))


def floor_seconds(loads: Iterable[ImageLoad], writes: int) -> float:
    """A tighter bound for a fan-out, whose last write is a VM create: that VM still takes
    a VM create's time after the bucket grants its token (the issue's bound leaves this out)."""
    bucket = write_bucket_seconds(writes)
    return max(critical_path_seconds(loads), bucket + VM_CREATE_SECONDS if bucket else 0.0)


def budget_floor_seconds(loads: Iterable[ImageLoad], writes: int) -> tuple[float, str]:
    """The fastest Azure allows a fan-out under every budget, and which one decides it: the image
    sources' rounds; ARM's write bucket; Compute's VM create budget per region (1,500, then 500 a
    minute); each budget's term plus the last VM's create, which still runs after its token."""
    loads = list(loads)
    terms = [(critical_path_seconds(loads), "image slots")]
    bucket = write_bucket_seconds(writes)
    if bucket:
        terms.append((bucket + VM_CREATE_SECONDS, "ARM writes"))
    by_region: dict[str, int] = {}
    for load in loads:
        by_region[load.region] = by_region.get(load.region, 0) + load.vms
    for region, creates in by_region.items():
        if creates > COMPUTE_CREATE_CAPACITY:
            seconds = (creates - COMPUTE_CREATE_CAPACITY) / COMPUTE_CREATE_PER_SECOND + VM_CREATE_SECONDS
            terms.append((seconds, f"Compute VM creates in {region}"))
    return max(terms)


def efficiency(lower_bound: float, sim_seconds: float) -> float:
    return round(lower_bound / sim_seconds, 3) if sim_seconds > 0 else 0.0


def timing_fields(
    wall_seconds: float, speed: float, lower_bound: float, floor: float | None = None
) -> dict[str, float]:
    sim_seconds = wall_seconds * speed
    fields = {
        "wall_seconds": round(wall_seconds, 3),
        "speed": speed,
        "sim_seconds": round(sim_seconds, 1),
        "lower_bound_seconds": round(lower_bound, 1),
        "efficiency": efficiency(lower_bound, sim_seconds),
    }
    if floor is not None:
        fields |= {"floor_seconds": round(floor, 1), "floor_efficiency": efficiency(floor, sim_seconds)}
    return fields


def machine_fields() -> dict[str, Any]:
    """Other load on the machine inflates wall time, and so simulated time: say how busy it was."""
    return {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}


def request_fields(counts: RequestCounts) -> dict[str, Any]:
    return {
        "reads": counts.reads,
        "writes": counts.writes,
        "deletes": counts.deletes,
        "polls": counts.polls,
        "throttled": counts.throttled,
        "latency_ms": counts.latency_ms,
    }


def in_flight_profile(entries: Iterable[Mapping[str, Any]], since: float, speed: float) -> dict[str, Any]:
    """From the emulator's journal of one operation (e.g. VM creates) started after `since`
    (epoch seconds): how many ran at once at most, and when (simulated seconds after
    `since`) the first started and the last ended. Shows where a fan-out's time goes."""
    spans = []
    for entry in entries:
        start = datetime.fromisoformat(entry["startTime"]).timestamp()
        if start < since:
            continue
        end = datetime.fromisoformat(entry["endTime"]).timestamp() if entry.get("endTime") else math.inf
        spans.append((start, end))
    if not spans:
        return {"count": 0, "max_in_flight": 0, "first_start_sim_s": None, "last_end_sim_s": None}
    # Sweep the starts and ends in time order; an end sorts before a start at the same instant.
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    last_end = max(end for _, end in spans)
    return {
        "count": len(spans),
        "max_in_flight": peak,
        "first_start_sim_s": round((min(start for start, _ in spans) - since) * speed, 1),
        "last_end_sim_s": round((last_end - since) * speed, 1) if last_end != math.inf else None,
    }


def show(title: str, records: Iterable[Mapping[str, Any]], console: Console | None = None) -> None:
    """One column per measured run, one row per figure (nested values such as latency flattened)."""
    runs = [_flatten(record) for record in records]
    figures: list[str] = []
    for run in runs:
        figures.extend(name for name in run if name not in figures)
    table = Table(title=title)
    table.add_column("figure", no_wrap=True, min_width=max((len(name) for name in figures), default=6))
    for run in runs:
        table.add_column(
            " ".join(str(run[k]) for k in ("bench", "image", "mode", "n") if run.get(k) is not None),
            justify="right",
            overflow="fold",
        )
    for name in figures:
        table.add_row(name, *(_cell(run.get(name)) for run in runs))
    (console or Console()).print(table)


def json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=False)


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, Mapping):
            flat.update({f"{name}.{inner}": v for inner, v in value.items()})
        elif not isinstance(value, list):
            flat[name] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and len(value) > CELL_WIDTH:
        return value[: CELL_WIDTH - 1] + "…"  # the JSON line keeps the whole text
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)
