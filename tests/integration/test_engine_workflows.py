"""The issue-5 workflows through the real SDK: specialized snapshots and restore, preserved
sources, galleries with per-region starts, VHD images, scale sets."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import (
    REPO,
    admin,
    apply,
    apply_until,
    copy_learn,
    destroy_stack,
    journal,
    plan,
    write_specs,
)

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target, connect_emulator
from imagepipe.emulator import start_emulator

PASSWORD = "Demo-Passw0rd-2026!"


def preserved_learn(tmp_path: Path) -> Path:
    """The Learn exercise with the default preserveSource: true."""
    folder = copy_learn(tmp_path, stack="preserved")
    spec = folder / "learn-exercise.yaml"
    text = spec.read_text()
    lines = [line for line in text.splitlines() if "preserveSource: false" not in line]
    spec.write_text("\n".join(lines) + "\n")
    return folder


def temporaries(azure: Azure, rg: str, capture: str) -> list[str]:
    names = []
    for type_ in (r.VM, r.NIC, r.DISK, r.SNAPSHOT):
        names += [rec["name"] for rec in azure.list(type_, rg) if rec["name"].startswith(f"{capture}-")]
    return names


def test_specialized_capture_restores_and_leaves_the_source_as_it_was(
    tmp_path: Path, target: Target, azure: Azure, monkeypatch: Any
) -> None:
    monkeypatch.setenv("IMAGEPIPE_DEMO_ADMIN_PASSWORD", PASSWORD)
    folder = shutil.copytree(REPO / "specs" / "snapshot-restore", tmp_path / "snapshot-restore")
    outcome = apply(target, folder)
    assert outcome.result.ok, outcome.result.failures

    source = azure.get(r.VM, "snap-rg", "app-server")
    assert source["power_state"] == "running"
    assert "imagepipe-quiesced" not in source["tags"]
    snapshots = sorted(s["name"] for s in azure.list(r.SNAPSHOT, "snap-rg"))
    assert snapshots == ["app-snapshot-data0", "app-snapshot-data1", "app-snapshot-os"]
    restored = azure.get(r.VM, "snap-restore-rg", "app-restore-0")
    assert restored["provisioning_state"] == "Succeeded"
    assert restored["properties"]["os_disk"]["name"] == "app-restore-0-osdisk"
    assert len(restored["properties"]["data_disks"]) == 2
    assert not plan(target, folder).has_changes

    assert destroy_stack(target, folder).result.ok
    assert azure.owned("snapshot-restore") == []


def test_preserved_source_capture_leaves_the_source_untouched_and_no_temporaries(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = preserved_learn(tmp_path)
    assert apply(target, folder).result.ok

    source = azure.get(r.VM, "learn-rg", "myVM")
    assert source.get("os_state") != "generalized" and source["power_state"] == "running"
    assert "imagepipe-quiesced" not in source["tags"]
    assert temporaries(azure, "learn-rg", "my-image") == []
    image = azure.get(r.IMAGE, "learn-rg", "myImage")
    assert image["properties"]["source_vm_id"].lower().endswith("/virtualmachines/my-image-tmp")
    assert not plan(target, folder).has_changes


@pytest.fixture
def slow_emulator(tmp_path: Path) -> Iterator[Any]:
    with start_emulator(tmp_path / "slow-state", speed=150.0, throttling=False) as em:
        yield em


# One kill point by default; all of them in the slow suite.
@pytest.mark.parametrize(
    "trigger",
    [
        pytest.param("> Capture/my-image/quiesce:", marks=pytest.mark.slow),
        "+ Capture/my-image/temp-vm:",
        pytest.param("> Capture/my-image/generalize:", marks=pytest.mark.slow),
        pytest.param("> Capture/my-image/cleanup:", marks=pytest.mark.slow),
    ],
)
def test_kill_inside_the_preserved_source_flow_leaves_no_temporary(
    tmp_path: Path, slow_emulator: Any, trigger: str
) -> None:
    folder = preserved_learn(tmp_path)
    killed = apply_until(slow_emulator, folder, trigger, tmp_path)
    assert trigger in killed.output and killed.in_flight, killed.output
    target = connect_emulator(slow_emulator, polling_interval=0.02)
    try:
        outcome = apply(target, folder)
        assert outcome.result is None or outcome.result.ok, outcome.result.failures
        azure = Azure(target)
        assert temporaries(azure, "learn-rg", "my-image") == []
        source = azure.get(r.VM, "learn-rg", "myVM")
        assert source["power_state"] == "running" and "imagepipe-quiesced" not in source["tags"]
        generalizes = [op for op in journal(slow_emulator) if op["name"] == "VirtualMachines_Generalize"]
        assert len(generalizes) == 1
        assert not plan(target, folder).has_changes
    finally:
        target.close()


GALLERY_SPECS = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: gallery-demo}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: golden}
spec:
  resourceGroup: g-build-rg
  vmName: golden
  osType: Linux
  create:
    securityType: Standard
    image: Ubuntu2204
    size: Standard_B2s
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
  image: {resourceGroup: g-images-rg, name: web-image}
  gallery:
    resourceGroup: g-images-rg
    name: demogallery
    definition: {name: web, publisher: contoso, offer: web, sku: ubuntu}
    version: VERSION
    targetRegions:
      - {name: eastus, replicas: 1}
      - {name: westus, replicas: 1}
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: east}
spec:
  image: Capture/web
  resourceGroup: g-east-rg
  location: eastus
  count: 2
  subnet: {vnet: east, name: default, addressPrefix: 10.8.0.0/24}
  sshPublicKey: {file: key.pub}
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: west}
spec:
  image: Capture/web
  resourceGroup: g-west-rg
  location: westus
  count: 2
  subnet: {vnet: west, name: default, addressPrefix: 10.9.0.0/24}
  sshPublicKey: {file: key.pub}
"""


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_gallery_deployments_start_per_region_and_a_changed_source_needs_a_new_version(
    tmp_path: Path, slow_emulator: Any
) -> None:
    folder = write_specs(tmp_path / "gallery", GALLERY_SPECS.replace("VERSION", "1.0.0"))
    target = connect_emulator(slow_emulator, polling_interval=0.02)
    try:
        assert apply(target, folder).result.ok
        azure = Azure(target)
        version = azure.get(r.GALLERY_VERSION, "g-images-rg", "demogallery/web/1.0.0")
        assert version["properties"]["regions"] == {"eastus": 1, "westus": 1}
        for rg, region in (("g-east-rg", "eastus"), ("g-west-rg", "westus")):
            vms = azure.list(r.VM, rg)
            assert len(vms) == 2 and {vm["location"] for vm in vms} == {region}
            assert all(vm["properties"]["image"].lower() == version["id"].lower() for vm in vms)

        ops = journal(slow_emulator)
        version_op = next(op for op in ops if op["name"] == "GalleryImageVersions_CreateOrUpdate")
        east_starts = [
            op["startTime"]
            for op in ops
            if op["name"] == "VirtualMachines_CreateOrUpdate" and "/g-east-rg/" in op["resourceId"]
        ]
        assert min(east_starts) < version_op["endTime"]  # east did not wait for west's replica
        assert not plan(target, folder).has_changes

        # More VMs from the replicated version, in waves: it is read once for all of them, not by each.
        (folder / "specs.yaml").write_text(
            (folder / "specs.yaml").read_text().replace("count: 2", "count: 8")
        )
        reads_before = admin(slow_emulator, "stats")["operations"].get("GalleryImageVersions_Get", 0)
        assert apply(target, folder, parallelism=3).result.ok
        version_reads = admin(slow_emulator, "stats")["operations"].get("GalleryImageVersions_Get", 0)
        assert version_reads - reads_before <= 3
        assert not plan(target, folder).has_changes

        changed = (
            (folder / "specs.yaml")
            .read_text()
            .replace("replicas: 1}\n      - {name: westus", "replicas: 2}\n      - {name: westus")
        )
        (folder / "specs.yaml").write_text(changed)
        conflict = plan(target, folder).change("Capture/web/gallery-version")
        assert conflict.action == "conflict" and "bump the version" in conflict.reason

        destroyed = destroy_stack(target, folder).result
        assert destroyed.ok, destroyed.failures  # versions and definitions go before their gallery
        assert azure.owned("gallery-demo") == []
    finally:
        target.close()


def test_vhd_image_to_a_scale_set_whose_count_changes(tmp_path: Path, target: Target, azure: Azure) -> None:
    specs = """
    apiVersion: imagepipe/v1
    kind: Stack
    metadata: {name: vhd-pool}
    spec: {location: eastus}
    ---
    apiVersion: imagepipe/v1
    kind: SourceVHD
    metadata: {name: blob}
    spec:
      resourceGroup: vx-rg
      osType: Linux
      osState: Generalized
      osDiskUri: https://acct.blob.core.windows.net/vhds/os.vhd
      dataDiskUris: [https://acct.blob.core.windows.net/vhds/data0.vhd]
    ---
    apiVersion: imagepipe/v1
    kind: Capture
    metadata: {name: from-blob}
    spec:
      source: SourceVHD/blob
      type: generalized
      image: {resourceGroup: vx-rg, name: blob-image}
    ---
    apiVersion: imagepipe/v1
    kind: Deployment
    metadata: {name: pool}
    spec:
      image: Capture/from-blob
      resourceGroup: vx-rg
      mode: scaleSet
      count: COUNT
      subnet: {vnet: vx-vnet, name: default, addressPrefix: 10.5.0.0/24}
      sshPublicKey: {file: key.pub}
    """
    folder = write_specs(tmp_path / "vhd", specs.replace("COUNT", "3"))
    assert apply(target, folder).result.ok
    image = azure.get(r.IMAGE, "vx-rg", "blob-image")
    assert image["properties"]["data_luns"] == [0]
    assert azure.get(r.VMSS, "vx-rg", "pool")["properties"]["capacity"] == 3

    write_specs(tmp_path / "vhd", specs.replace("COUNT", "5"))
    change = plan(target, folder).change("Deployment/pool/vmss")
    assert change.action == "update" and "capacity 3 -> 5" in change.reason
    assert apply(target, folder).result.ok
    assert azure.get(r.VMSS, "vx-rg", "pool")["properties"]["capacity"] == 5
    assert not plan(target, folder).has_changes
