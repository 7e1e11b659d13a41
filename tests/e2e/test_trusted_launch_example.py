"""The specs/trusted-launch example: a Trusted Launch source captured into a gallery definition made
for it (no managed image), Trusted Launch VMs and a scale set fanned out, and a plan that is empty
afterwards. The plan names each VM's security type."""

from __future__ import annotations

from pathlib import Path

from azure.mgmt.compute import ComputeManagementClient
from cli_run import endpoint_env, invoke_cli, workdir_with_specs

from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator


def test_trusted_launch_example_applies_and_plans_nothing_more(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "em", speed=400.0) as em:
        env = endpoint_env(em)
        planned = invoke_cli("plan", "specs/trusted-launch", cwd=work, env=env)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert "TrustedLaunch VM tl-golden does not exist" in planned.stdout
        assert "TrustedLaunch VM tl-web-01 does not exist" in planned.stdout
        assert "Capture/web-image/image" not in planned.stdout  # no managed image

        applied = invoke_cli("apply", "specs/trusted-launch", "--yes", cwd=work, env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr

        again = invoke_cli("plan", "specs/trusted-launch", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "No changes" in again.stdout

        with connect_emulator(em) as target:
            check_what_azure_holds(target.compute)


def check_what_azure_holds(compute: ComputeManagementClient) -> None:
    definition = compute.gallery_images.get("tl-images-rg", "tlgallery", "web-tl")
    assert [(f.name, f.value) for f in definition.features] == [("SecurityType", "TrustedLaunch")]
    version = compute.gallery_image_versions.get("tl-images-rg", "tlgallery", "web-tl", "1.0.0")
    assert "/virtualMachines/" in version.storage_profile.source.virtual_machine_id
    assert not list(compute.images.list_by_resource_group("tl-build-rg"))
    for name in ("tl-web-00", "tl-web-01"):
        vm = compute.virtual_machines.get("tl-web-rg", name)
        assert vm.security_profile.security_type == "TrustedLaunch"
        assert vm.security_profile.uefi_settings.secure_boot_enabled
    scale_set = compute.virtual_machine_scale_sets.get("tl-web-rg", "workers")
    assert scale_set.virtual_machine_profile.security_profile.security_type == "TrustedLaunch"
