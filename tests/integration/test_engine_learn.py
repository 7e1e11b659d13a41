"""The Learn exercise through the real SDK against the emulator: apply, re-plan, drift, destroy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_helpers import LEARN_VM, admin, apply, copy_learn, destroy_stack, journal, plan, writes

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target


def test_learn_exercise_applies_and_a_second_plan_is_empty(
    tmp_path: Path, target: Target, azure: Azure, emulator: Any
) -> None:
    folder = copy_learn(tmp_path)
    outcome = apply(target, folder)
    assert outcome.result is not None and outcome.result.ok, outcome.result.failures

    source = azure.get(r.VM, "learn-rg", "myVM")
    assert source is not None and source["os_state"] == "generalized"
    image = azure.get(r.IMAGE, "learn-rg", "myImage")
    assert image is not None and image["properties"]["source_vm_id"].lower() == source["id"].lower()
    vm = azure.get(r.VM, "learn-rg", LEARN_VM)
    assert vm is not None and vm["properties"]["image"].lower() == image["id"].lower()
    assert vm["tags"]["imagepipe-stack"] == "learn-exercise"
    assert vm["tags"]["imagepipe-spec"] == "Deployment/new-vm/vm[0]"
    assert vm["tags"]["purpose"] == "learn-exercise"
    assert len(vm["tags"]["imagepipe-hash"]) == 12
    assert source["tags"]["imagepipe-customized"]

    before = admin(emulator, "stats")
    again = plan(target, folder)
    assert not again.has_changes, [c for c in again.changes if c.is_change]
    assert writes(admin(emulator, "stats")) == writes(before)

    generalizes = [op for op in journal(emulator) if "generalize" in str(op.get("name", "")).lower()]
    assert len(generalizes) == 1


def test_drift_of_size_and_tags_is_an_update_that_apply_repairs(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = copy_learn(tmp_path)
    assert apply(target, folder).result.ok
    azure.compute.virtual_machines.begin_update(
        "learn-rg", LEARN_VM, {"properties": {"hardwareProfile": {"vmSize": "Standard_B1s"}}}
    ).result()

    drifted = plan(target, folder)
    change = drifted.change("Deployment/new-vm/vm[0]")
    assert change is not None and change.action == "update"
    assert "Standard_B1s" in change.reason

    assert apply(target, folder).result.ok
    assert azure.get(r.VM, "learn-rg", LEARN_VM)["properties"]["size"] == "Standard_DS2_v2"
    assert not plan(target, folder).has_changes


def test_destroy_removes_everything_the_stack_owns(tmp_path: Path, target: Target, azure: Azure) -> None:
    folder = copy_learn(tmp_path)
    assert apply(target, folder).result.ok
    outcome = destroy_stack(target, folder)
    assert outcome.result is not None and outcome.result.ok, outcome.result.failures
    assert azure.owned("learn-exercise") == []
    assert azure.get(r.RESOURCE_GROUP, "learn-rg", "learn-rg") is None
    assert plan(target, folder).counts()["create"] > 0
