"""The plan's estimate of an apply's duration and what bounds it, from the step graph and the budgets."""

from __future__ import annotations

import shutil
from pathlib import Path

from imagepipe.graph import build_graph
from imagepipe.plan.estimate import estimate
from imagepipe.spec import load_one

FLEET = Path(__file__).resolve().parents[2] / "specs" / "fleet"


def fleet(tmp_path: Path, count: int, per_replica: int | None = None) -> Path:
    folder = shutil.copytree(FLEET, tmp_path / f"fleet-{count}-{per_replica}")
    deployments = folder / "deployments.yaml"
    deployments.write_text(deployments.read_text().replace("count: 20", f"count: {count}"))
    if per_replica is not None:
        capture = folder / "capture.yaml"
        text = capture.read_text().replace(
            "    targetRegions:", f"    vmsPerReplica: {per_replica}\n    targetRegions:"
        )
        capture.write_text(text)
    return folder


def estimate_of(folder: Path, speed: float = 1.0):  # type: ignore[no-untyped-def]
    specset = load_one([folder])
    graph = build_graph(specset)
    return estimate(graph, specset, {step.address: "create" for step in graph.steps()}, speed)


def test_a_fleet_within_its_replicas_is_bounded_by_its_longest_chain(tmp_path: Path) -> None:
    found = estimate_of(fleet(tmp_path, 20))
    assert "longest chain" in found.bound and "one round of VM creates (20 VMs)" in found.bound
    # source VM, customize, capture (deallocate, generalize, image), gallery version replicated, VMs
    assert 10 * 60 <= found.seconds <= 15 * 60


def test_too_few_replicas_bound_the_fan_out_and_the_ratio_is_a_setting(tmp_path: Path) -> None:
    at_20 = estimate_of(fleet(tmp_path, 200))
    assert at_20.bound.startswith("2 gallery replicas of Capture/web-image's gallery version")
    assert "at 20 VMs each: 200 VMs take 5 rounds" in at_20.bound
    assert "one round needs 4 replicas at 1:50 or 10 at 1:20" in at_20.bound
    at_50 = estimate_of(fleet(tmp_path, 200, per_replica=50))
    assert "at 50 VMs each: 200 VMs take 2 rounds" in at_50.bound
    assert at_20.seconds - at_50.seconds == 3 * 60  # three rounds of VM creates fewer


def test_the_estimate_keeps_the_targets_time_scale(tmp_path: Path) -> None:
    found = estimate_of(fleet(tmp_path, 20), speed=10)
    assert found.speed == 10 and found.to_json()["seconds"] == round(found.seconds, 1)
    assert found.text.startswith("about ") and "bounded by" in found.text
