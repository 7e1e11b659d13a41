"""The scheduler's slots for a gallery fan-out follow the spec's vmsPerReplica."""

from __future__ import annotations

from pathlib import Path

from test_plan_estimate import fleet

from imagepipe.apply.limits import slots_of
from imagepipe.graph import build_graph
from imagepipe.spec import load_one
from imagepipe.steps.context import Context


def gallery_slot_limit(folder: Path) -> int:
    specset = load_one([folder])
    graph = build_graph(specset)
    ctx = Context(specset, graph, "00000000-0000-0000-0000-000000000000")
    step = next(s for s in graph.steps() if s.document.startswith("Deployment/") and s.name == "vm")
    (slot,) = [s for s in slots_of(step, ctx) if s.image]
    return slot.limit


def test_a_region_serves_vms_per_replica_times_its_replicas(tmp_path: Path) -> None:
    assert gallery_slot_limit(fleet(tmp_path, 20)) == 2 * 20  # 2 replicas, 20 each by default
    assert gallery_slot_limit(fleet(tmp_path, 20, per_replica=50)) == 2 * 50
