"""Image lifecycle: older gallery versions step back (excludeFromLatest, an end-of-life date) when a
new one is published, and --prune deletes an undescribed managed image only when nothing uses it."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

from imagepipe import vocabulary as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.render.plan import plan_json
from tests.integration.engine_helpers import apply, plan, write_specs
from tests.integration.test_engine_rollout import hand_made_vm

CAPTURE = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: lifecycle}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: golden}
spec:
  resourceGroup: life-build-rg
  vmName: golden
  osType: Linux
  create:
    securityType: Standard
    image: Ubuntu2204
    adminUsername: azureuser
    sshPublicKey: {file: key.pub}
    subnet: {vnet: build, name: default, addressPrefix: 10.7.0.0/24}
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: web}
spec:
  source: SourceVM/golden
  type: generalized
  image: {resourceGroup: life-build-rg, name: IMAGE}
  GALLERY
"""
GALLERY = """gallery:
    resourceGroup: life-images-rg
    name: lifegallery
    definition: {name: web, publisher: contoso, offer: web, sku: ubuntu}
    version: VERSION
    olderVersions: {excludeFromLatest: true, endOfLifeAfter: 90d}"""


def capture_specs(folder: Path, image: str, version: str | None = None) -> Path:
    gallery = GALLERY.replace("VERSION", version) if version else ""
    return write_specs(folder, CAPTURE.replace("IMAGE", image).replace("GALLERY", gallery))


def source_only(folder: Path) -> Path:
    """The same stack without its Capture: the image it made is described no more."""
    return write_specs(folder, CAPTURE.split("---\napiVersion: imagepipe/v1\nkind: Capture")[0])


def test_a_new_version_marks_the_older_ones_excluded_from_latest_with_an_end_of_life(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = capture_specs(tmp_path / "older", "web-1-0-0", "1.0.0")
    assert apply(target, folder).result.ok
    first = plan(target, folder)
    assert not first.has_changes
    assert first.change("Capture/web/older-versions").action == "no-op"

    capture_specs(folder, "web-1-0-1", "1.0.1")
    bumped = plan(target, folder)
    change = bumped.change("Capture/web/older-versions")
    published = azure.compute.gallery_image_versions.get(
        "life-images-rg", "lifegallery", "web", "1.0.0"
    ).publishing_profile.published_date
    end = published + timedelta(days=90)
    # At plan time the old version is known: the plan says what it marks and why.
    assert change.action == "update"
    assert "1.0.0: excludeFromLatest" in change.reason
    assert f"end of life {end:%Y-%m-%d} (published {published:%Y-%m-%d} + 90 days)" in change.reason
    as_json = json.loads(plan_json(bumped))
    (marked,) = [c for c in as_json["changes"] if c["address"] == "Capture/web/older-versions"]
    assert marked["action"] == "update" and "1.0.0" in marked["reason"]

    assert apply(target, folder).result.ok
    old = azure.compute.gallery_image_versions.get("life-images-rg", "lifegallery", "web", "1.0.0")
    new = azure.compute.gallery_image_versions.get("life-images-rg", "lifegallery", "web", "1.0.1")
    assert old.publishing_profile.exclude_from_latest is True
    assert old.publishing_profile.end_of_life_date.astimezone(UTC) == end.astimezone(UTC).replace(
        microsecond=0
    )
    assert new.publishing_profile.exclude_from_latest is False
    assert new.publishing_profile.end_of_life_date is None
    assert not plan(target, folder).has_changes


def test_prune_keeps_an_undescribed_image_a_vm_still_uses_and_says_by_what_then_deletes_it(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = capture_specs(tmp_path / "prune", "web-old")
    assert apply(target, folder).result.ok
    image_id = azure.get(r.IMAGE, "life-build-rg", "web-old")["id"]
    hand_made_vm(azure, image_id)  # not this stack's: made by hand from the image

    source_only(folder)
    pruning = plan(target, folder, prune=True)
    assert not [c for c in pruning.changes if c.action == "delete"]
    (kept,) = pruning.kept
    assert kept["address"] == "Capture/web/image" and kept["id"].lower() == image_id.lower()
    assert kept["reason"] == "image web-old: no spec describes it any more; kept: used by VM hand-rg/hand"
    assert json.loads(plan_json(pruning))["kept"] == [kept]
    kept_by_apply = apply(target, folder, prune=True)  # nothing to do: the image stays
    assert not kept_by_apply.plan.has_changes and kept_by_apply.result is None
    assert azure.get(r.IMAGE, "life-build-rg", "web-old") is not None
    assert not pruning.has_changes and plan(target, folder, prune=True).kept == [kept]

    azure.compute.virtual_machines.begin_delete("hand-rg", "hand").result()
    freed = plan(target, folder, prune=True)
    assert not freed.kept
    assert [c.resource_id for c in freed.changes if c.action == "delete"] == [image_id]
    assert apply(target, folder, prune=True).result.ok
    assert azure.get(r.IMAGE, "life-build-rg", "web-old") is None
    assert not plan(target, folder, prune=True).has_changes


SNAPSHOTS = """
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: web}
spec:
  source: SourceVM/golden
  type: specialized
  quiesce: none
  snapshots: {resourceGroup: life-build-rg}
"""


def snapshot_names(azure: Azure) -> list[str]:
    return sorted(s["name"] for s in azure.list(r.SNAPSHOT, "life-build-rg"))


def test_prune_keeps_a_snapshot_set_while_a_disk_is_made_from_one_of_them(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    source = CAPTURE.split("---\napiVersion: imagepipe/v1\nkind: Capture")[0].replace(
        "    subnet: {vnet: build", "    dataDisks: [{sizeGB: 32}]\n    subnet: {vnet: build"
    )
    folder = write_specs(tmp_path / "snapshots", source + "---" + SNAPSHOTS)
    assert apply(target, folder).result.ok
    assert snapshot_names(azure) == ["web-data0", "web-os"]
    data = azure.get(r.SNAPSHOT, "life-build-rg", "web-data0")["id"]
    copy = {
        "location": "eastus",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": data}},
    }
    azure.compute.disks.begin_create_or_update("life-build-rg", "by-hand", copy).result()

    write_specs(folder, source)
    pruning = plan(target, folder, prune=True)
    assert not [c for c in pruning.changes if c.action == "delete"]
    assert [k["reason"] for k in pruning.kept] == [
        "snapshot web-data0: no spec describes it any more; kept: used by disk life-build-rg/by-hand",
        "snapshot web-os: no spec describes it any more; kept: used by snapshot web-data0 of the same set "
        "(used by disk life-build-rg/by-hand)",
    ]
    assert not pruning.has_changes

    azure.compute.disks.begin_delete("life-build-rg", "by-hand").result()
    freed = plan(target, folder, prune=True)
    assert not freed.kept and len([c for c in freed.changes if c.action == "delete"]) == 2
    assert apply(target, folder, prune=True).result.ok
    assert snapshot_names(azure) == []
    assert not plan(target, folder, prune=True).has_changes


def test_a_renamed_image_a_vm_still_uses_is_kept_until_it_is_free(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = capture_specs(tmp_path / "renamed", "web-old")
    assert apply(target, folder).result.ok
    hand_made_vm(azure, azure.get(r.IMAGE, "life-build-rg", "web-old")["id"])

    capture_specs(folder, "web-new")  # a new image: the old one would go once the new one exists
    renamed = plan(target, folder)
    assert not [c for c in renamed.changes if c.action == "delete"]
    assert [k["reason"] for k in renamed.kept] == [
        "image web-old: renamed: replaced by images life-build-rg/web-new; kept: used by VM hand-rg/hand"
    ]
    assert apply(target, folder).result.ok
    assert sorted(i["name"] for i in azure.list(r.IMAGE, "life-build-rg")) == ["web-new", "web-old"]
    assert not plan(target, folder).has_changes

    azure.compute.virtual_machines.begin_delete("hand-rg", "hand").result()
    assert [c.action for c in plan(target, folder).changes if c.is_change] == ["delete"]
    assert apply(target, folder).result.ok
    assert [i["name"] for i in azure.list(r.IMAGE, "life-build-rg")] == ["web-new"]
    assert not plan(target, folder).has_changes


def test_a_rollback_to_an_excluded_version_includes_it_in_latest_again(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = capture_specs(tmp_path / "rollback", "web-1-0-0", "1.0.0")
    assert apply(target, folder).result.ok
    capture_specs(folder, "web-1-0-1", "1.0.1")
    assert apply(target, folder).result.ok
    versions = azure.compute.gallery_image_versions
    assert versions.get(
        "life-images-rg", "lifegallery", "web", "1.0.0"
    ).publishing_profile.exclude_from_latest

    capture_specs(folder, "web-1-0-0", "1.0.0")  # back to the month before
    change = plan(target, folder).change("Capture/web/older-versions")
    assert change.action == "update" and "1.0.0: included in latest again" in change.reason
    assert apply(target, folder).result.ok
    back = versions.get("life-images-rg", "lifegallery", "web", "1.0.0").publishing_profile
    assert back.exclude_from_latest is False and back.end_of_life_date is not None
    newer = versions.get("life-images-rg", "lifegallery", "web", "1.0.1").publishing_profile
    assert newer.exclude_from_latest is False  # newer than the spec's: never marked
    assert not plan(target, folder).has_changes
