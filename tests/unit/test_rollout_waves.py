"""Rollouts: which VMs go in which wave (the plan), and the wave barrier apply holds them with."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagepipe.apply.rollout import WaveBarrier
from imagepipe.graph import build_graph
from imagepipe.plan.model import Plan, plan_file_problem
from imagepipe.plan.rollout import RolloutPlan, plan_rollouts
from imagepipe.spec import load_one
from imagepipe.spec.model import Rollout
from imagepipe.steps.change import Change

SPECS = Path(__file__).resolve().parents[2] / "specs"


@pytest.mark.parametrize(
    ("max_unavailable", "count", "size"),
    [("25%", 20, 5), ("25%", 3, 1), ("50%", 5, 2), (2, 8, 2), (30, 8, 30), ("100%", 4, 4)],
)
def test_max_unavailable_rounds_down_and_is_at_least_one_vm(
    max_unavailable: int | str, count: int, size: int
) -> None:
    assert Rollout(max_unavailable).wave_size(count) == size


def _changes(actions: dict[int, str]) -> list[Change]:
    return [
        Change(action, f"Deployment/web-east/vm[{i}]", "why", "Deployment/web-east")  # type: ignore[arg-type]
        for i, action in actions.items()
    ]


def test_missing_vms_go_first_and_count_against_the_budget() -> None:
    specset = load_one([SPECS / "fleet"])  # web-east: 20 VMs, maxUnavailable 25%: waves of 5
    graph = build_graph(specset)
    actions = {i: "replace" for i in range(20)} | {7: "create", 12: "create", 3: "no-op"}
    (rollout,) = [
        r for r in plan_rollouts(specset, graph, _changes(actions)) if r.deployment.endswith("east")
    ]
    assert [len(w) for w in rollout.waves] == [5, 5, 5, 4]
    assert rollout.waves[0][:2] == ["Deployment/web-east/vm[7]", "Deployment/web-east/vm[12]"]
    assert rollout.wave_of("Deployment/web-east/vm[3]") is None  # already on the new image
    assert rollout.describe().startswith("replace 19 VMs in 4 waves of at most 5, about ")
    assert "(at most 5 of 20 down at once" in rollout.describe()


def test_a_first_apply_of_creates_only_is_not_a_rollout() -> None:
    specset = load_one([SPECS / "fleet"])
    graph = build_graph(specset)
    assert plan_rollouts(specset, graph, _changes({i: "create" for i in range(20)})) == []


def test_the_barrier_opens_a_wave_when_the_last_one_ended_and_stops_after_a_failed_one() -> None:
    waves = [["a0", "a1"], ["a2", "a3"], ["a4"]]
    barrier = WaveBarrier([RolloutPlan("Deployment/a", 5, 2, waves=waves)])
    assert [barrier.admit(a) for a in ["a0", "a1", "a2", "a3", "a4", "other"]] == [
        "go",
        "go",
        "hold",
        "hold",
        "hold",
        "go",
    ]
    assert barrier.finished("a0", ok=True) == ([], [])
    assert barrier.finished("a1", ok=True) == (["a2", "a3"], [])
    assert barrier.finished("a2", ok=False) == ([], [])  # the wave's other VM still runs
    released, stopped = barrier.finished("a3", ok=True)
    assert (released, stopped) == ([], ["a4"])
    assert "wave 2 of 3 failed (a2)" in barrier.why_stopped("a4")


def test_a_saved_plan_carries_its_rollouts() -> None:
    rollout = RolloutPlan(
        "Deployment/web", 4, 1, 30.0, True, [["Deployment/web/vm[0]"], ["Deployment/web/vm[1]"]]
    )
    plan = Plan(stack="s", paths=["."], spec_fingerprint="0" * 16, subscription="sub", rollouts=[rollout])
    data = plan.to_file_json(Path("plan.json"))
    assert plan_file_problem(data) is None
    assert Plan.from_json(data).rollouts == [rollout]


def _vm_update(i: int, before: str, after: str) -> Change:
    return Change(
        "update",
        f"Deployment/web-east/vm[{i}]",
        "why",
        "Deployment/web-east",
        before={"properties": {"size": before}},
        after={"properties": {"size": after}},
    )


def test_a_resize_rolls_and_a_tag_update_does_not() -> None:
    specset = load_one([SPECS / "fleet"])
    graph = build_graph(specset)
    resized = [_vm_update(i, "Standard_B2s", "Standard_D2s_v5") for i in range(10)]
    tagged = [_vm_update(i, "Standard_B2s", "standard_b2s") for i in range(10, 20)]
    (rollout,) = [r for r in plan_rollouts(specset, graph, resized + tagged) if r.deployment.endswith("east")]
    assert [len(w) for w in rollout.waves] == [5, 5]
    assert rollout.describe().startswith("resize 10 VMs in 2 waves of 5")
    assert RolloutPlan.from_json(rollout.to_json()) == rollout
    assert plan_rollouts(specset, graph, tagged) == []


def test_the_barrier_says_which_wave_runs_and_pauses_on_the_targets_clock() -> None:
    waves = [["Deployment/a/vm[0]"], ["Deployment/a/disks[1]", "Deployment/a/vm[1]"]]
    barrier = WaveBarrier([RolloutPlan("Deployment/a", 2, 1, 300.0, waves=waves)], speed=1000.0)
    assert barrier.notices() == [("Deployment/a", "wave 1 of 2 (vm[0])")]
    assert barrier.finished("Deployment/a/vm[0]", ok=True) == ([], [])  # nothing of wave 2 was held
    assert barrier.notices() == [("Deployment/a", "wave 2 of 2 (vm[1]): pausing 5 min before it")]
    assert 0.0 < barrier.delay("Deployment/a/disks[1]") <= 0.3  # 5 min at the emulator's speed 1000
    assert barrier.summary() == [("Deployment/a", "1 of 2 waves done")]
    barrier.finished("Deployment/a/disks[1]", ok=True)
    barrier.finished("Deployment/a/vm[1]", ok=True)
    assert barrier.summary() == [("Deployment/a", "2 of 2 waves done")]
