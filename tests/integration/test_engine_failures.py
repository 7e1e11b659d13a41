"""Failures: one root cause reported once, only dependants stop, a rerun converges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_helpers import LEARN_VM, admin, apply, copy_learn, plan, write_specs

from imagepipe.apply.events import Event
from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target


def test_a_failing_lro_stops_its_dependants_only_and_a_rerun_converges(
    tmp_path: Path, target: Target, azure: Azure, emulator: Any
) -> None:
    admin(emulator, "faults", [{"operation": "Images_CreateOrUpdate", "lro_error": "OperationNotAllowed"}])
    folder = copy_learn(tmp_path)
    result = apply(target, folder).result

    assert [f.address for f in result.failures] == ["Capture/my-image/image"]
    failure = result.failures[0]
    assert failure.error["code"] == "OperationNotAllowed"
    assert "myImage" in failure.message
    assert result.outcomes["Deployment/new-vm/vm[0]"].status == "skipped"
    assert result.outcomes["VirtualNetwork/learn-rg/learn-vnet"].status == "done"
    assert azure.get(r.VM, "learn-rg", LEARN_VM) is None

    admin(emulator, "faults", [])
    assert apply(target, folder).result.ok
    assert not plan(target, folder).has_changes


def test_a_fatal_error_in_one_branch_while_another_completes(
    tmp_path: Path, target: Target, azure: Azure, monkeypatch: Any
) -> None:
    monkeypatch.setenv("WEAK_PASSWORD", "short")
    folder = write_specs(
        tmp_path / "two-sources",
        """
        apiVersion: imagepipe/v1
        kind: Stack
        metadata: {name: two-sources}
        spec: {location: eastus}
        ---
        apiVersion: imagepipe/v1
        kind: SourceVM
        metadata: {name: linux}
        spec:
          resourceGroup: two-rg
          vmName: linux-src
          osType: Linux
          create:
            securityType: Standard
            image: Ubuntu2204
            size: Standard_B2s
            adminUsername: azureuser
            sshPublicKey: {file: key.pub}
            subnet: {vnet: net, name: default, addressPrefix: 10.1.0.0/24}
        ---
        apiVersion: imagepipe/v1
        kind: SourceVM
        metadata: {name: windows}
        spec:
          resourceGroup: two-rg
          vmName: win-src
          osType: Windows
          create:
            securityType: Standard
            image: Win2022AzureEdition
            size: Standard_B2s
            adminUsername: azureuser
            adminPassword: {env: WEAK_PASSWORD}
            subnet: {vnet: net, name: default, addressPrefix: 10.1.0.0/24}
        """,
    )
    result = apply(target, folder).result
    assert [f.address for f in result.failures] == ["SourceVM/windows/vm"]
    assert result.failures[0].error["status"] == 400
    assert "short" not in result.failures[0].message  # the secret never shows, even in Azure's complaint
    assert azure.get(r.VM, "two-rg", "linux-src")["provisioning_state"] == "Succeeded"


def test_a_vm_whose_provisioning_fails_is_reported_with_azures_code(
    tmp_path: Path, target: Target, azure: Azure, emulator: Any
) -> None:
    admin(
        emulator,
        "faults",
        [{"operation": "VirtualMachines_CreateOrUpdate", "lro_error": "OSProvisioningTimedOut"}],
    )
    folder = copy_learn(tmp_path)
    result = apply(target, folder).result
    assert [f.address for f in result.failures] == ["SourceVM/source/vm"]
    assert result.failures[0].error["code"] == "OSProvisioningTimedOut"
    assert result.outcomes["Capture/my-image/image"].status == "skipped"

    admin(emulator, "faults", [])
    change = plan(target, folder).change("SourceVM/source/vm")
    assert (
        change.action == "replace" and "OSProvisioningTimedOut" in change.reason
    )  # owned and Failed: recreated
    assert apply(target, folder).result.ok
    assert not plan(target, folder).has_changes


def test_a_wait_whose_reads_keep_failing_gives_up_instead_of_waiting_for_ever(
    tmp_path: Path, target: Target, emulator: Any
) -> None:
    """The listing that watches a VM's provisioning fails on every try (as under an emulator whose
    disk is full): the step fails with that error after the request's own retries, once."""

    def break_the_listing(event: Event) -> None:
        if event.kind == "start" and event.address == "SourceVM/source/vm":
            admin(emulator, "faults", [{"operation": "VirtualMachines_List", "status": 500}])

    folder = copy_learn(tmp_path)
    result = apply(target, folder, on_event=break_the_listing).result
    admin(emulator, "faults", [])

    assert [f.address for f in result.failures] == ["SourceVM/source/vm"]
    assert result.failures[0].error["code"] == "InternalServerError"
    assert "retry" not in result.failures[0].message  # no step-level retries on top of the request's
    assert apply(target, folder).result.ok
    assert not plan(target, folder).has_changes
