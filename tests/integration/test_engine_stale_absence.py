"""A VM the plan found absent is created without reading it again, but never over one that appeared since."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import CONFIG, make_untagged_vm, write_specs

from imagepipe.app.run import apply_specs
from imagepipe.app.session import open_session
from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.plan.planner import make_plan

SPECS = """
apiVersion: imagepipe/v1
kind: Stack
metadata: {name: racing}
spec: {location: eastus}
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: build}
spec:
  resourceGroup: race-rg
  vmName: build-vm
  osType: Linux
  create:
    securityType: Standard
    image: Ubuntu2204
    size: Standard_B2s
    adminUsername: azureuser
    sshPublicKey: {file: key.pub}
    subnet: {vnet: net, name: default, addressPrefix: 10.7.0.0/24}
"""


def test_a_vm_made_by_hand_after_the_plan_is_refused_not_overwritten(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = write_specs(tmp_path / "racing", SPECS)
    with open_session([folder], CONFIG, target=target) as session:
        planned = make_plan(session.specset, session.graph, session.azure)
        assert planned.absent_vms() == {r.key(r.VM, "race-rg", "build-vm")}

        make_untagged_vm(azure, "race-rg", "build-vm")  # between the plan and its apply
        result = apply_specs(session, planned=planned).result

    assert [f.address for f in result.failures] == ["SourceVM/build/vm"]
    assert "belongs to no imagepipe stack" in result.failures[0].message
    theirs = azure.get(r.VM, "race-rg", "build-vm")
    assert theirs["tags"] == {} and theirs["properties"]["admin_username"] == "someone"
