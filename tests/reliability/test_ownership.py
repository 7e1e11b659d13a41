"""apply, apply --prune and destroy never modify or delete what carries no or another stack's tags;
a wanted name held by such a resource is reported as a conflict."""

from __future__ import annotations

from pathlib import Path

import pytest
from foreign import documents, make_foreign, touched_since
from harness import EmulatorProcess, copy_specs, run_cli

OTHER_STACK = {
    "imagepipe-stack": "someone-else",
    "imagepipe-spec": "Deployment/new-vm/vm[0]",  # even our own step address, under another stack
    "imagepipe-hash": "000000000000",
}
TAGS = {"untagged": {}, "other-stack": OTHER_STACK}


# Another stack's tags by default; untagged in the slow suite.
@pytest.mark.parametrize("tagging", [pytest.param("untagged", marks=pytest.mark.slow), "other-stack"])
def test_a_wanted_name_held_by_a_foreign_resource_is_a_conflict(
    tmp_path: Path, emulator: EmulatorProcess, tagging: str
) -> None:
    # The Learn exercise's deployed VM name, already taken.
    foreign = make_foreign(emulator, "learn-rg", "hand", TAGS[tagging], vm_name="myVMFromImage")
    before = documents(emulator, foreign)
    made_by_hand = len(emulator.journal())
    folder = copy_specs("learn-exercise", tmp_path)

    planned = run_cli(emulator, "plan", str(folder), cwd=tmp_path)
    assert planned.returncode == 1
    assert "Deployment/new-vm/vm[0]" in planned.stdout + planned.stderr
    assert "myVMFromImage" in planned.stderr and "Traceback" not in planned.stderr

    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    assert applied.returncode == 1
    assert "myVMFromImage" in applied.stderr
    destroyed = run_cli(emulator, "destroy", str(folder), "--yes", cwd=tmp_path)
    assert destroyed.returncode == 0

    assert documents(emulator, foreign) == before
    assert touched_since(emulator, made_by_hand, foreign) == []


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_foreign_resources_in_our_groups_survive_apply_prune_and_destroy(
    tmp_path: Path, emulator: EmulatorProcess
) -> None:
    foreign = make_foreign(emulator, "learn-rg", "hand", {})
    foreign += make_foreign(emulator, "learn-rg", "other", OTHER_STACK)
    before = documents(emulator, foreign)
    made_by_hand = len(emulator.journal())
    folder = copy_specs("learn-exercise", tmp_path)

    assert run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path).returncode == 0
    plan = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout

    # The deployment leaves the specs: prune removes what it owned, nothing else.
    spec = folder / "learn-exercise.yaml"
    spec.write_text(spec.read_text().split("kind: Deployment")[0].rsplit("---", 1)[0])
    pruned = run_cli(emulator, "apply", str(folder), "--yes", "--prune", cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stdout[-2000:] + pruned.stderr
    assert "myVMFromImage" in pruned.stdout
    after_prune = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert after_prune.returncode == 0, after_prune.stdout

    destroyed = run_cli(emulator, "destroy", str(folder), "--yes", cwd=tmp_path)
    assert destroyed.returncode == 0, destroyed.stdout[-2000:] + destroyed.stderr

    assert documents(emulator, foreign) == before
    assert touched_since(emulator, made_by_hand, foreign) == []
    with_stack = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert with_stack.returncode == 2  # ours are gone, theirs remain


ANOTHER_STEP = {
    "imagepipe-stack": "learn-exercise",  # this very stack
    "imagepipe-stack-id": "learn-exercise",
    "imagepipe-spec": "SourceVM/other/vm",  # but made for another step
    "imagepipe-hash": "000000000000",
}


def test_a_wanted_name_held_by_another_step_of_the_stack_is_a_conflict(
    tmp_path: Path, emulator: EmulatorProcess
) -> None:
    """Ownership is the stack and the step: a step never adopts, replaces or deletes what
    another step's address is written on."""
    foreign = make_foreign(emulator, "learn-rg", "hand", ANOTHER_STEP, vm_name="myVMFromImage")
    before = documents(emulator, foreign)
    made_by_hand = len(emulator.journal())
    folder = copy_specs("learn-exercise", tmp_path)

    planned = run_cli(emulator, "plan", str(folder), cwd=tmp_path)
    assert planned.returncode == 1, planned.stdout
    assert "Deployment/new-vm/vm[0]" in planned.stdout + planned.stderr
    assert "belongs to SourceVM/other/vm of this stack" in planned.stdout + planned.stderr
    assert "Traceback" not in planned.stderr

    applied = run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path)
    assert applied.returncode == 1, applied.stdout
    assert "myVMFromImage" in applied.stderr and "SourceVM/other/vm" in applied.stderr

    assert documents(emulator, foreign) == before
    assert touched_since(emulator, made_by_hand, foreign) == []
