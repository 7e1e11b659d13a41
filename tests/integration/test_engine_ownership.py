"""Ownership: an untagged resource with a wanted name is a conflict; two stacks never touch each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import LEARN_VM, apply, copy_learn, destroy_stack, make_untagged_vm, plan, write_specs

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.errors import ConflictError


def test_an_untagged_vm_with_a_wanted_name_is_reported_and_left_untouched(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    make_untagged_vm(azure, "learn-rg", LEARN_VM)
    before = azure.get(r.VM, "learn-rg", LEARN_VM)
    folder = copy_learn(tmp_path)

    planned = plan(target, folder)
    conflict = planned.change("Deployment/new-vm/vm[0]")
    assert conflict is not None and conflict.action == "conflict"
    assert LEARN_VM in conflict.reason and "untagged" in conflict.reason

    with pytest.raises(ConflictError, match=LEARN_VM):
        apply(target, folder)
    after = azure.get(r.VM, "learn-rg", LEARN_VM)
    assert after == before
    assert azure.get(r.VM, "learn-rg", "myVM") is None  # apply refused before changing anything


def test_two_stacks_in_one_subscription_never_touch_each_other(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    first = copy_learn(tmp_path, stack="stack-one", rg="one-rg")
    second = copy_learn(tmp_path, stack="stack-two", rg="two-rg")
    assert apply(target, first).result.ok
    assert apply(target, second).result.ok
    two_before = sorted(rec["id"] for rec in azure.owned("stack-two"))

    assert not plan(target, first).has_changes
    assert plan(target, first).undescribed == 0
    assert destroy_stack(target, first).result.ok

    assert azure.owned("stack-one") == []
    assert sorted(rec["id"] for rec in azure.owned("stack-two")) == two_before
    assert not plan(target, second).has_changes


EXISTING_SOURCE = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: from-existing}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: legacy}
spec:
  resourceGroup: legacy-rg
  vmName: legacy-vm
  osType: Linux
  existing: true
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: legacy-image}
spec:
  source: SourceVM/legacy
  type: generalized
  image: {resourceGroup: images-rg, name: legacy-image}
  snapshots: {resourceGroup: images-rg}
"""


def test_an_existing_source_is_captured_untouched_and_never_destroyed(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    make_untagged_vm(azure, "legacy-rg", "legacy-vm")
    folder = write_specs(tmp_path / "existing", EXISTING_SOURCE)
    planned = plan(target, folder)
    assert planned.change("SourceVM/legacy/vm").action == "no-op"
    assert apply(target, folder).result.ok

    source = azure.get(r.VM, "legacy-rg", "legacy-vm")
    assert source.get("os_state") != "generalized" and source["power_state"] == "running"
    assert source["tags"] == {}  # ends exactly as it was
    assert azure.get(r.IMAGE, "images-rg", "legacy-image") is not None
    assert not plan(target, folder).has_changes

    assert destroy_stack(target, folder).result.ok
    assert azure.get(r.IMAGE, "images-rg", "legacy-image") is None
    assert azure.get(r.VM, "legacy-rg", "legacy-vm") is not None  # untagged: never touched
    assert azure.get(r.RESOURCE_GROUP, "legacy-rg", "legacy-rg") is not None


def unnamed_learn(tmp_path: Path, team: str, rg: str) -> Path:
    """The Learn exercise in ``TEAM/web`` with no stack name: the stack is named after the folder."""
    folder = copy_learn(tmp_path / team, rg=rg)
    target = folder.parent / "web"
    folder.rename(target)
    spec = target / "learn-exercise.yaml"
    spec.write_text(spec.read_text().replace("metadata:\n  name: learn-exercise\n", "metadata: {}\n", 1))
    return target


def test_two_folders_of_one_name_are_two_stacks_that_never_touch_each_other(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    team_a = unnamed_learn(tmp_path, "teamA", "a-rg")
    team_b = unnamed_learn(tmp_path, "teamB", "b-rg")
    assert apply(target, team_a).result.ok
    assert apply(target, team_b).result.ok
    assert not plan(target, team_a).has_changes and not plan(target, team_b).has_changes
    b_before = sorted(rec["id"] for rec in azure.owned("web") if rec["resource_group"] == "b-rg")
    assert b_before

    # teamA's prune and destroy see teamB's resources as another stack's: named, never deleted.
    pruned = plan(target, team_a, prune=True)
    assert not pruned.has_changes
    assert {c["id"] for c in pruned.collisions} >= set(b_before)
    assert all(c["identity"].endswith("teamB/web") for c in pruned.collisions)
    assert destroy_stack(target, team_a).result.ok
    assert sorted(rec["id"] for rec in azure.owned("web")) == b_before
    assert not plan(target, team_b).has_changes

    # A third folder named web that wants teamB's names is refused, naming both stacks.
    team_c = unnamed_learn(tmp_path, "teamC", "b-rg")
    clash = plan(target, team_c).change("SourceVM/source/vm")
    assert clash is not None and clash.action == "conflict"
    assert "teamB/web" in clash.reason and "teamC/web" in clash.reason
    with pytest.raises(ConflictError):
        apply(target, team_c)
    assert sorted(rec["id"] for rec in azure.owned("web")) == b_before


def test_an_existing_trusted_launch_source_is_a_plan_time_conflict_for_a_managed_image(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    make_untagged_vm(azure, "legacy-rg", "legacy-vm", security_type="TrustedLaunch")
    folder = write_specs(tmp_path / "existing", EXISTING_SOURCE)
    planned = plan(target, folder)
    conflict = planned.change("Capture/legacy-image/image")
    assert conflict is not None and conflict.action == "conflict"
    assert "managed images cannot hold TrustedLaunch VMs" in conflict.reason
    assert "declare securityType: TrustedLaunch on SourceVM/legacy" in conflict.reason
    with pytest.raises(ConflictError, match="Capture/legacy-image/image"):
        apply(target, folder)
    assert azure.get(r.VM, "legacy-rg", "legacy-vm")["power_state"] == "running"  # untouched

    declared = EXISTING_SOURCE.replace("  existing: true\n", "  existing: true\n  securityType: Standard\n")
    mismatch = plan(target, write_specs(tmp_path / "declared", declared)).change("SourceVM/legacy/vm")
    assert mismatch is not None and mismatch.action == "conflict"
    assert "is a TrustedLaunch VM" in mismatch.reason

    gallery = EXISTING_SOURCE.replace(
        "  existing: true\n", "  existing: true\n  securityType: TrustedLaunch\n"
    ).replace(
        "  image: {resourceGroup: images-rg, name: legacy-image}\n",
        "  gallery:\n    resourceGroup: images-rg\n    name: legacygal\n"
        "    definition: {name: legacy, publisher: p, offer: o, sku: s}\n    version: 1.0.0\n",
    )
    folder = write_specs(tmp_path / "gallery", gallery)
    assert apply(target, folder).result.ok
    assert azure.get(r.IMAGE, "images-rg", "legacy-image") is None
    assert azure.get(r.GALLERY_VERSION, "images-rg", "legacygal/legacy/1.0.0") is not None
    assert not plan(target, folder).has_changes
    assert destroy_stack(target, folder).result.ok
