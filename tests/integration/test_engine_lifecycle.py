"""Image lifecycle: older gallery versions step back (excludeFromLatest, an end-of-life date) when a
new one is published, and --prune deletes an undescribed managed image only when nothing uses it."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.render.plan import plan_json
from tests.integration.engine_helpers import apply, plan, write_specs

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
  image: {resourceGroup: life-images-rg, name: IMAGE}
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
