"""Anyone can copy a stack's tags onto a resource: what they write is printed escaped, and
destroy and prune act only in the resource groups the specs name."""

from __future__ import annotations

from pathlib import Path

import pytest
from foreign import documents, touched_since
from harness import EmulatorProcess, copy_specs, run_cli

from imagepipe.azure.target import connect_emulator

SPOOFED_SPEC = "Deployment/x/vm[0]\n  No changes. The infrastructure matches the specs.\x1b[31m[bold]"


def _disk(emulator: EmulatorProcess, rg: str, name: str, tags: dict[str, str]) -> str:
    """An empty managed disk made with the SDK, as a person with the az CLI would."""
    with connect_emulator(emulator) as target:
        target.resources.resource_groups.create_or_update(rg, {"location": "eastus"})
        disk = target.compute.disks.begin_create_or_update(
            rg,
            name,
            {
                "location": "eastus",
                "tags": tags,
                "sku": {"name": "Standard_LRS"},
                "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4},
            },
        ).result()
        return disk.id


def _applied(emulator: EmulatorProcess, tmp_path: Path) -> Path:
    folder = copy_specs("learn-exercise", tmp_path)
    assert run_cli(emulator, "apply", str(folder), "--yes", cwd=tmp_path).returncode == 0
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout
    return folder


def test_values_read_from_azure_are_printed_escaped(tmp_path: Path, emulator: EmulatorProcess) -> None:
    folder = _applied(emulator, tmp_path)
    _disk(
        emulator,
        "learn-rg",
        "spoof\x1b[2J-disk",
        {
            "imagepipe-stack": "learn-exercise",
            "imagepipe-stack-id": "learn-exercise",
            "imagepipe-spec": SPOOFED_SPEC,
        },
    )

    planned = run_cli(emulator, "plan", str(folder), "--prune", cwd=tmp_path)

    assert planned.returncode == 0, planned.stderr
    text = planned.stdout
    assert "\x1b" not in text
    assert "\nNo changes." not in text and "\n  No changes." not in text
    assert "Deployment/x/vm[0]\\x0a  No changes. The infrastructure matches the specs.\\x1b[31m[bold]" in text
    assert "spoof\\x1b[2J-disk" in text
    assert "Plan: 0 to create, 0 to change, 0 to replace, 1 to delete, 0 actions." in text


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_destroy_and_prune_stay_in_the_stack_resource_groups(
    tmp_path: Path, emulator: EmulatorProcess
) -> None:
    folder = _applied(emulator, tmp_path)
    tags = {
        "imagepipe-stack": "learn-exercise",
        "imagepipe-stack-id": "learn-exercise",
        "imagepipe-spec": "SourceVM/gone/vm",
    }
    elsewhere = _disk(emulator, "someone-elses-rg", "tagged-disk", tags)
    before = documents(emulator, [elsewhere])
    made_by_hand = len(emulator.journal())
    outside = "not deleted: outside the stack's resource groups"

    planned = run_cli(emulator, "plan", str(folder), "--prune", "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout  # nothing to delete in the stack's groups
    assert outside in planned.stdout and "someone-elses-rg" in planned.stdout

    pruned = run_cli(emulator, "apply", str(folder), "--prune", "--yes", cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert outside in pruned.stdout
    planned = run_cli(emulator, "plan", str(folder), "--detailed-exitcode", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout

    destroyed = run_cli(emulator, "destroy", str(folder), "--yes", cwd=tmp_path)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert outside in destroyed.stdout and "tagged-disk" in destroyed.stdout
    again = run_cli(emulator, "destroy", str(folder), "--yes", cwd=tmp_path)
    assert again.returncode == 0 and outside in again.stdout  # nothing left to delete: still reported

    assert documents(emulator, [elsewhere]) == before
    assert touched_since(emulator, made_by_hand, [elsewhere]) == []
    with connect_emulator(emulator) as target:
        assert target.resources.resource_groups.check_existence("learn-rg") is False
