"""A gallery image version that Azure fails: the version step fails with Azure's error, no VM is
made from it, and once the cause is gone the next apply recreates it under the same number."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine_helpers import admin, apply, journal, plan, write_specs

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target

VERSION = "demogallery/web/1.0.0"
QUOTA_FAULT = {
    "operation": "GalleryImageVersions_CreateOrUpdate",
    "lro_error": "QuotaExceeded",
    "probability": 1,
}

SPECS = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: gallery-failure}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: golden}
spec:
  resourceGroup: gf-build-rg
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
  preserveSource: false
  image: {resourceGroup: gf-images-rg, name: web-image}
  gallery:
    resourceGroup: gf-images-rg
    name: demogallery
    definition: {name: web, publisher: contoso, offer: web, sku: ubuntu}
    version: 1.0.0
    targetRegions:
      - {name: eastus, replicas: 1}
      - {name: westus, replicas: 1}
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: east}
spec:
  image: Capture/web
  resourceGroup: gf-east-rg
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
  resourceGroup: gf-west-rg
  location: westus
  count: 1
  subnet: {vnet: west, name: default, addressPrefix: 10.9.0.0/24}
  sshPublicKey: {file: key.pub}
"""

DEPLOYED_GROUPS = ("gf-east-rg", "gf-west-rg")


def cli_apply(emulator: Any, folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **emulator.env()}
    command = [sys.executable, "-m", "imagepipe.cli.main", "apply", str(folder), "--yes", "-o", "text"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def deployment_vm_creates(emulator: Any) -> list[dict[str, Any]]:
    return [
        op
        for op in journal(emulator)
        if op["name"] == "VirtualMachines_CreateOrUpdate"
        and any(f"/resourcegroups/{rg}/" in op["resourceId"].lower() for rg in DEPLOYED_GROUPS)
    ]


def test_a_failed_gallery_version_fails_its_step_and_the_next_apply_recreates_it(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    folder = write_specs(tmp_path / "gallery-failure", SPECS)
    admin(emulator, "faults", [QUOTA_FAULT])

    failed = cli_apply(emulator, folder, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, failed.stderr  # one root cause; the deployments are skipped, not failed
    assert errors[0].startswith("error: Capture/web/gallery-version:")
    assert "create" in errors[0] and VERSION in errors[0] and "QuotaExceeded" in errors[0]
    assert "Injected failure 'QuotaExceeded'" in errors[0]  # Azure's own message

    version = azure.get(r.GALLERY_VERSION, "gf-images-rg", VERSION)
    assert version["provisioning_state"] == "Failed"
    assert set(version["properties"]["replication"].values()) == {"Failed"}
    assert deployment_vm_creates(emulator) == []  # no VM was even attempted from the failed version
    assert all(azure.list(r.VM, rg) == [] for rg in DEPLOYED_GROUPS)
    failed_hash = version["tags"]["imagepipe-hash"]

    admin(emulator, "faults", [])
    retry = plan(target, folder).change("Capture/web/gallery-version")
    assert retry.action == "replace", retry.reason  # not a conflict: the source did not change
    assert "bump" not in retry.reason

    outcome = apply(target, folder)
    assert outcome.result is not None and outcome.result.ok, outcome.result and outcome.result.failures
    version = azure.get(r.GALLERY_VERSION, "gf-images-rg", VERSION)
    assert version["provisioning_state"] == "Succeeded"
    assert version["tags"]["imagepipe-hash"] == failed_hash
    assert set(version["properties"]["replication"].values()) == {"Completed"}
    for rg, count in (("gf-east-rg", 2), ("gf-west-rg", 1)):
        vms = azure.list(r.VM, rg)
        assert len(vms) == count
        assert all(vm["provisioning_state"] == "Succeeded" for vm in vms)
        assert all(vm["properties"]["image"].lower() == version["id"].lower() for vm in vms)
    assert not plan(target, folder).has_changes


def test_a_version_failing_with_a_retryable_code_is_recreated_in_the_same_apply(
    tmp_path: Path, emulator: Any, target: Target, azure: Azure
) -> None:
    folder = write_specs(tmp_path / "gallery-retry", SPECS)
    retryable = {**QUOTA_FAULT, "lro_error": "InternalExecutionError", "probability": 0.5}
    admin(emulator, "faults", {"seed": 1, "rules": [retryable]})  # seed 1: the first create fails

    outcome = apply(target, folder)
    assert outcome.result is not None and outcome.result.ok, outcome.result and outcome.result.failures
    creates = [op for op in journal(emulator) if op["name"] == "GalleryImageVersions_CreateOrUpdate"]
    assert [op["status"] for op in creates] == ["Failed", "Succeeded"]
    assert azure.get(r.GALLERY_VERSION, "gf-images-rg", VERSION)["provisioning_state"] == "Succeeded"
    assert len(deployment_vm_creates(emulator)) >= 3
    admin(emulator, "faults", [])
    assert not plan(target, folder).has_changes
