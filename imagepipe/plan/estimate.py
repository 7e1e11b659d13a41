"""How long an apply should take, and what bounds it: from the step graph, the plan's changes
and Azure's budgets (image slots, gallery replicas per region, ARM's write bucket, Compute's VM
create budget per region, Network's writes).

The figure is in Azure's seconds. It is the largest of:
- the critical path: the longest chain of changing steps, each its typical duration, where the
  VMs of one image source take `ceil(VMs / slots)` rounds of one VM create;
- each budget's term: the time the budget needs to grant the fan-out's requests after it starts
  (its capacity at once, then its refill), plus the last VM's create.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from imagepipe.graph.stepgraph import StepGraph
from imagepipe.spec.model import SpecSet
from imagepipe.throttling import ARM_BUCKETS, COMPUTE_VM_CREATE, NETWORK_WRITES
from imagepipe.vocabulary import StepKind

MANAGED_IMAGE_SLOTS = 20  # concurrent VM creates one managed image serves
VM_CREATE = 60.0
# Typical Azure durations (seconds) of what each kind of step waits for.
DURATIONS: dict[StepKind, float] = {
    StepKind.RESOURCE_GROUP: 1.0,
    StepKind.VIRTUAL_NETWORK: 2.0,
    StepKind.SOURCE_NIC: 2.0,
    StepKind.SOURCE_VM: VM_CREATE,
    StepKind.EXISTING_VM: 1.0,
    StepKind.CUSTOMIZE: 20.0,  # a Run Command per script
    StepKind.CAPTURE_QUIESCE: 15.0,
    StepKind.CAPTURE_SNAPSHOT_SOURCE_DISKS: 10.0,
    StepKind.CAPTURE_RESTORE_SOURCE: 20.0,
    StepKind.CAPTURE_TEMP_DISKS: 5.0,
    StepKind.CAPTURE_TEMP_VM: VM_CREATE + 2.0,
    StepKind.CAPTURE_DEPROVISION: 20.0,
    StepKind.CAPTURE_DEALLOCATE: 30.0,
    StepKind.CAPTURE_GENERALIZE: 1.0,
    StepKind.CAPTURE_IMAGE: 60.0,
    StepKind.CAPTURE_CLEANUP: 30.0,
    StepKind.CAPTURE_GALLERY: 5.0,
    StepKind.CAPTURE_GALLERY_IMAGE: 5.0,
    StepKind.CAPTURE_SNAPSHOTS: 10.0,
    StepKind.DEPLOYMENT_VM: VM_CREATE,
    StepKind.DEPLOYMENT_DISKS: 5.0,
    StepKind.DELETION: 10.0,
}
GALLERY_VERSION_BASE = 60.0
REPLICATION = 300.0  # per region, in parallel, each region a little after the previous
REPLICATION_STAGGER = 30.0
VMSS_BASE = 90.0
CHANGING = ("create", "update", "replace", "action", "delete")


@dataclass(frozen=True)
class Estimate:
    seconds: float  # Azure time
    bound: str  # what decides it
    speed: float = 1.0  # the target's time scale (an emulator's --speed): wall = seconds / speed

    @property
    def text(self) -> str:
        if self.seconds <= 0:
            return "none, nothing to change"
        return f"about {duration_text(self.seconds)}, bounded by {self.bound}"

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "bound": self.bound,
            "text": self.text,
            "speed": self.speed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Estimate:
        return cls(float(data["seconds"]), str(data["bound"]), float(data.get("speed", 1.0)))


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class _Source:
    """VMs created from one image source: a managed image, or a gallery version in one region."""

    label: str
    slots: int
    replicas: int = 0  # gallery only
    per_replica: int = 0
    region: str = ""
    vms: int = 0
    ready: float = 0.0  # when its VMs' dependencies are done


def estimate(
    graph: StepGraph, specset: SpecSet, actions: dict[str, str], speed: float = 1.0, overhead: float = 0.0
) -> Estimate:
    """`actions`: the plan's action per step address (what is not changing takes no time);
    `overhead`: Azure seconds each step adds to what it waits for (its reads and verification,
    and the polling interval it notices the end with)."""
    changing = {address for address, action in actions.items() if action in CHANGING and action != "delete"}
    deletions = sum(1 for action in actions.values() if action == "delete")  # destroy, --prune
    if not changing and not deletions:
        return Estimate(0.0, "nothing to change", speed)
    finish: dict[str, float] = {}
    chain_end = ("", 0.0)
    sources: dict[str, _Source] = {}
    vm_creates: dict[str, int] = defaultdict(int)
    network = 0
    for step in graph.steps():  # dependency order
        start = max((finish[d] for d in graph.dependencies(step.address)), default=0.0)
        if step.address not in changing:
            finish[step.address] = start
            continue
        network += step.kind in (StepKind.VIRTUAL_NETWORK, StepKind.SOURCE_NIC)
        if step.kind is StepKind.DEPLOYMENT_VM:
            source = _source_of(step.document, specset, sources)
            if source is not None:
                source.vms += 1
                source.ready = max(source.ready, start)
                vm_creates[_region(specset, step.document)] += 1
                finish[step.address] = start  # the rounds are counted per source below
                continue
        finish[step.address] = start + _duration(step.kind, step.document, specset) + overhead
        if finish[step.address] > chain_end[1]:
            chain_end = (step.document, finish[step.address])
    candidates: list[tuple[float, str]] = [
        (chain_end[1], f"the longest chain of steps, ending in {chain_end[0]}")
    ]
    for source in sources.values():
        rounds = math.ceil(source.vms / source.slots)
        candidates.append((source.ready + rounds * (VM_CREATE + overhead), _slots_text(source, rounds)))
    fan_start = min((s.ready for s in sources.values() if s.vms), default=0.0)
    fan_writes = sum(s.vms for s in sources.values())
    arm_capacity, arm_rate = ARM_BUCKETS["writes"]
    if fan_writes > arm_capacity:
        term = fan_start + (fan_writes - arm_capacity) / arm_rate + VM_CREATE + overhead
        candidates.append(
            (
                term,
                f"ARM's write budget: {fan_writes:,} writes at {arm_rate:g} a second after {arm_capacity:g}",
            )
        )
    capacity, rate = COMPUTE_VM_CREATE
    for region, creates in sorted(vm_creates.items()):
        if creates > capacity:
            term = fan_start + (creates - capacity) / rate + VM_CREATE + overhead
            candidates.append(
                (
                    term,
                    f"Compute's VM create budget in {region}: {creates:,} creates at {rate * 60:g} a minute after {capacity:g}",
                )
            )
    net_capacity, net_rate = NETWORK_WRITES
    if network > net_capacity:
        candidates.append(
            ((network - net_capacity) / net_rate, f"Network's write budget: {network:,} writes")
        )
    if deletions:
        capacity, rate = ARM_BUCKETS["deletes"]
        term = DURATIONS[StepKind.DELETION] * 3 + max(0.0, deletions - capacity) / rate
        candidates.append((term, f"{deletions:,} deletions, rank by rank"))
    seconds, bound = max(candidates, key=lambda c: c[0])
    return Estimate(seconds, bound, speed)


def _duration(kind: StepKind, document: str, specset: SpecSet) -> float:
    if kind is StepKind.CAPTURE_GALLERY_VERSION:
        capture: Any = specset.get(document)
        regions = len(capture.gallery.target_regions) if capture.gallery else 1
        return GALLERY_VERSION_BASE + REPLICATION + REPLICATION_STAGGER * (regions - 1)
    if kind is StepKind.DEPLOYMENT_VMSS:
        deployment: Any = specset.get(document)
        return VMSS_BASE + 15.0 * math.log2(max(1, deployment.count))
    return DURATIONS.get(kind, kind.duration_hint)


def _region(specset: SpecSet, document: str) -> str:
    return str(getattr(specset.get(document), "location_name", "") or "").replace(" ", "").lower()


def _source_of(document: str, specset: SpecSet, sources: dict[str, _Source]) -> _Source | None:
    deployment: Any = specset.get(document)
    capture: Any = specset.get(deployment.image)
    if capture is None or capture.type != "generalized":
        return None
    region = _region(specset, document)
    if capture.gallery is not None:
        key = f"{capture.ref}:{region}"
        if key not in sources:
            replicas = next(
                (
                    t.replicas
                    for t in capture.gallery.target_regions
                    if t.name.replace(" ", "").lower() == region
                ),
                1,
            )
            per = capture.gallery.vms_per_replica
            sources[key] = _Source(
                f"{capture.ref}'s gallery version in {region}", per * replicas, replicas, per, region
            )
        return sources[key]
    key = f"{capture.ref}:image"
    if key not in sources:
        sources[key] = _Source(f"{capture.ref}'s managed image", MANAGED_IMAGE_SLOTS, region=region)
    return sources[key]


def _slots_text(source: _Source, rounds: int) -> str:
    if rounds == 1:
        vms = f"{source.vms:,} VM{'s' if source.vms != 1 else ''}"
        return f"the longest chain of steps: {source.label} ready, then one round of VM creates ({vms})"
    if not source.replicas:
        return f"{source.label}: {source.vms:,} VMs, {source.slots} at a time, {rounds} rounds of VM creates"
    plural = "s" if source.replicas != 1 else ""
    at_50, at_20 = math.ceil(source.vms / 50), math.ceil(source.vms / 20)
    return (
        f"{source.replicas} gallery replica{plural} of {source.label} at {source.per_replica} VMs each: "
        f"{source.vms:,} VMs take {rounds} rounds of VM creates; one round needs {at_50} replicas at 1:50 "
        f"or {at_20} at 1:20"
    )
