"""Security types and architectures through imagepipe's engine and the emulator: what validate lets
through, Azure accepts, and a second plan is empty."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import apply, destroy_stack, plan, write_specs

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target

ARM64_GALLERY = """\
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: arm}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: build}
spec:
  resourceGroup: arm-rg
  vmName: arm-build
  create:
    image: Canonical:0001-com-ubuntu-server-jammy:22_04-lts-arm64:latest
    size: Standard_D2ps_v5
    securityType: Standard  # Arm64 alone keeps it out of a managed image
    sshPublicKey: {file: key.pub}
    subnet: {vnet: arm-vnet, name: build, addressPrefix: 10.50.0.0/24}
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: arm-image}
spec:
  source: SourceVM/build
  preserveSource: false
  gallery:
    resourceGroup: arm-rg
    name: armgallery
    definition: {name: arm, publisher: p, offer: o, sku: arm64}
    version: 1.0.0
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: arm-web}
spec:
  image: Capture/arm-image
  resourceGroup: arm-rg
  size: Standard_D2ps_v5
  subnet: {vnet: arm-vnet, name: web, addressPrefix: 10.50.1.0/24}
  sshPublicKey: {file: key.pub}
"""


def test_an_arm64_source_publishes_through_a_gallery_never_a_managed_image(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = write_specs(tmp_path / "arm", ARM64_GALLERY)
    planned = plan(target, folder)
    assert planned.change("Capture/arm-image/image") is None  # no managed image
    result = apply(target, folder).result
    assert result.ok, {a: o.error for a, o in result.outcomes.items() if o.error}
    definition = azure.compute.gallery_images.get("arm-rg", "armgallery", "arm")
    assert definition.architecture == "Arm64"
    assert [(f.name, f.value) for f in definition.features] == [("SecurityType", "TrustedLaunchSupported")]
    vm = azure.get(r.VM, "arm-rg", "arm-web-00")
    assert vm is not None and vm["properties"]["security_type"] == "TrustedLaunch"  # Gen2 default
    assert not plan(target, folder).has_changes
    assert destroy_stack(target, folder).result.ok
