"""The typed model: every default applied, references kept as Kind/name, secrets by reference."""

from pathlib import Path

import pytest

from imagepipe.spec import load_one
from imagepipe.spec.images import ALIASES, resolve_alias
from imagepipe.spec.model import Capture, Deployment, SourceVHD, SourceVM
from imagepipe.spec.secrets import SecretRef

SPECS = Path(__file__).resolve().parents[2] / "specs"


def test_learn_exercise_model() -> None:
    specset = load_one([SPECS / "learn-exercise"])
    assert specset.name == "learn-exercise" and specset.stack.location_name == "eastus"
    source = specset.get("SourceVM/source")
    assert isinstance(source, SourceVM) and source.create is not None
    assert source.location_name == "eastus" and source.os_type == "Linux" and not source.existing
    assert (
        resolve_alias(source.create.image) == "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
    )
    assert "nginx" in source.create.customize[0].script
    key = source.create.ssh_public_key
    assert isinstance(key, SecretRef) and key.kind == "file"
    assert key.reveal().startswith("ssh-ed25519 ")  # the shipped demo key, found next to the spec
    capture = specset.get("Capture/my-image")
    assert isinstance(capture, Capture)
    assert (capture.type, capture.preserve_source, capture.image.name) == ("generalized", False, "myImage")
    deployment = specset.get("Deployment/new-vm")
    assert (
        isinstance(deployment, Deployment) and deployment.count == 1 and deployment.location_name == "eastus"
    )


def test_defaults_follow_the_source(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        """apiVersion: imagepipe/v1
kind: Stack
metadata: {name: d}
spec: {location: northeurope}
---
apiVersion: imagepipe/v1
kind: SourceVHD
metadata: {name: disk}
spec: {resourceGroup: vhd-rg, osType: Windows, osDiskUri: "https://a.blob.core.windows.net/v/os.vhd"}
---
apiVersion: imagepipe/v1
kind: Capture
metadata: {name: img}
spec:
  source: SourceVHD/disk
  gallery:
    resourceGroup: gal-rg
    name: gal
    definition: {name: d, publisher: p, offer: o, sku: s}
    version: 2.0.1
---
apiVersion: imagepipe/v1
kind: Deployment
metadata: {name: app}
spec:
  image: Capture/img
  resourceGroup: app-rg
  subnetId: /subscriptions/1/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/s
  adminPassword: {env: PW}
  zones: [1, "2"]
"""
    )
    specset = load_one([tmp_path])
    vhd = specset.get("SourceVHD/disk")
    assert isinstance(vhd, SourceVHD) and vhd.os_state == "Generalized" and vhd.location_name == "northeurope"
    capture = specset.get("Capture/img")
    assert isinstance(capture, Capture)
    assert (capture.image.resource_group, capture.image.name) == ("vhd-rg", "img-image")
    assert (capture.snapshots.resource_group, capture.snapshots.incremental) == ("vhd-rg", False)
    assert capture.preserve_source and capture.quiesce == "stop"
    assert [(r.name, r.replicas) for r in capture.gallery.target_regions] == [("northeurope", 1)]
    deployment = specset.get("Deployment/app")
    assert isinstance(deployment, Deployment)
    assert deployment.name_pattern == "app-{index:02d}" and deployment.vm_name(3) == "app-03"
    assert (deployment.size, deployment.admin_username, deployment.mode, deployment.max_parallel) == (
        "Standard_B2s",
        "azureuser",
        "vms",
        "auto",
    )
    assert deployment.zones == ("1", "2") and deployment.subnet is None
    assert repr(deployment.admin_password) == "SecretRef(env:PW)"


def test_snapshot_restore_is_windows_with_two_data_disks() -> None:
    specset = load_one([SPECS / "snapshot-restore"])
    source = specset.get("SourceVM/app-server")
    assert isinstance(source, SourceVM) and source.create is not None
    assert source.os_type == "Windows"
    assert [d.size_gb for d in source.create.data_disks] == [32, 128]
    assert source.create.admin_password == SecretRef("env", "IMAGEPIPE_DEMO_ADMIN_PASSWORD")


def test_os_type_comes_from_the_marketplace_image(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        """apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: win}
spec:
  resourceGroup: rg
  location: eastus
  vmName: win
  create:
    securityType: Standard
    image: "MicrosoftWindowsServer:WindowsServer:2022-datacenter:latest"
    adminPassword: {file: pw.txt}
    subnet: {vnet: v, name: s, addressPrefix: 10.0.0.0/24}
"""
    )
    (tmp_path / "pw.txt").write_text("Test-Only-Passw0rd!\n")
    vm = load_one([tmp_path]).get("SourceVM/win")
    assert isinstance(vm, SourceVM) and vm.os_type == "Windows"


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias_resolves_to_a_urn(alias: str) -> None:
    urn = resolve_alias(alias)
    assert urn is not None and len(urn.split(":")) == 4


def test_unknown_alias_resolves_to_nothing() -> None:
    assert resolve_alias("Ubuntu1804") is None
