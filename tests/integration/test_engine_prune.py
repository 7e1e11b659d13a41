"""Prune: owned resources no spec describes any more are counted, and deleted only with --prune."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine_helpers import apply, plan

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
REPO_SPECS = Path(__file__).resolve().parents[2] / "specs"


def test_a_lower_count_is_pruned_only_when_asked(tmp_path: Path, target: Target, azure: Azure) -> None:
    three = shutil.copytree(GOLDEN / "scaled-up" / "specs", tmp_path / "three")
    one = shutil.copytree(GOLDEN / "scaled-up" / "before", tmp_path / "one")
    assert apply(target, three).result.ok
    assert len(azure.list(r.VM, "learn-rg")) == 4  # the source and three deployed

    kept = plan(target, one)
    # Two VMs (each with the NIC it made): listed and pending, never "No changes" beside them.
    assert kept.undescribed == 2 and kept.has_changes
    assert [o["address"] for o in kept.orphans] == ["Deployment/new-vm/vm[1]", "Deployment/new-vm/vm[2]"]
    assert not [c for c in kept.changes if c.is_change]

    pruning = plan(target, one, prune=True)
    deleted = sorted(c.address for c in pruning.changes if c.action == "delete")
    assert deleted == ["Deployment/new-vm/vm[1]", "Deployment/new-vm/vm[2]"]
    assert pruning.summary() == "Plan: 0 to create, 0 to change, 0 to replace, 2 to delete, 0 actions."

    outcome = apply(target, one, prune=True)
    assert outcome.result.ok and outcome.result.counts()["deleted"] == 2
    assert sorted(vm["name"] for vm in azure.list(r.VM, "learn-rg")) == ["myVM", "myVMFromImage-0"]
    disks = [d["name"] for d in azure.list(r.DISK, "learn-rg")]
    assert not [d for d in disks if d.startswith(("myVMFromImage-1", "myVMFromImage-2"))]
    nics = [n["name"] for n in azure.list(r.NIC, "learn-rg")]  # each went with its VM
    assert not [n for n in nics if n.startswith(("myVMFromImage-1", "myVMFromImage-2"))]
    after = plan(target, one)
    assert not after.has_changes and after.undescribed == 0


def test_a_renamed_deployment_replaces_its_vms_and_deletes_the_old_ones_after(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = shutil.copytree(GOLDEN / "scaled-up" / "before", tmp_path / "web")
    assert apply(target, folder).result.ok
    spec = next(folder.glob("*.yaml"))
    spec.write_text(spec.read_text().replace("myVMFromImage-{index}", "webFromImage-{index}"))

    renamed = plan(target, folder)
    creates = [c.address for c in renamed.changes if c.action == "create"]
    deletes = [c for c in renamed.changes if c.action == "delete"]
    assert creates == ["Deployment/new-vm/vm[0]"]
    assert [c.address for c in deletes] == ["Deployment/new-vm/vm[0]"]
    assert "myVMFromImage-0" in deletes[0].reason and "replaced by" in deletes[0].reason

    assert apply(target, folder).result.ok
    names = sorted(vm["name"] for vm in azure.list(r.VM, "learn-rg"))
    assert names == ["myVM", "webFromImage-0"]
    nics = [n["name"] for n in azure.list(r.NIC, "learn-rg")]
    assert not [n for n in nics if n.startswith("myVMFromImage")]
    again = plan(target, folder)
    assert not again.has_changes and not again.orphans


def test_a_renamed_gallery_definition_takes_its_old_versions_with_it(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = shutil.copytree(REPO_SPECS / "trusted-launch", tmp_path / "trusted-launch")
    assert apply(target, folder).result.ok
    spec = next(folder.glob("*.yaml"))
    spec.write_text(spec.read_text().replace("definition: {name: web-tl,", "definition: {name: web-tl2,"))

    renamed = plan(target, folder)
    deleted = [c.reason.split(":")[0] for c in renamed.changes if c.action == "delete"]
    assert deleted == ["versions tlgallery/web-tl/1.0.0", "images tlgallery/web-tl"]  # nested first
    assert apply(target, folder).result.ok
    assert azure.get(r.GALLERY_IMAGE, "tl-images-rg", "tlgallery/web-tl") is None
    assert azure.get(r.GALLERY_VERSION, "tl-images-rg", "tlgallery/web-tl2/1.0.0") is not None
    assert not plan(target, folder).has_changes
