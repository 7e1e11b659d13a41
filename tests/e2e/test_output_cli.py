"""`imagepipe output`: what downstream jobs need, per document, read from the target, for scripts
(-o json) and people (a table)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_run import endpoint_env, invoke_cli, workdir_with_specs

from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator

SUBSCRIPTION_PREFIX = "/subscriptions/"


def small_fleet(work: Path) -> Path:
    """The fleet example with 2 VMs east and a scale set of 2 west."""
    fleet = work / "specs" / "fleet"
    deployments = fleet / "deployments.yaml"
    text = deployments.read_text().replace("count: 20", "count: 2")
    text = text.replace("name: web-west\nspec:\n", "name: web-west\nspec:\n  mode: scaleSet\n")
    deployments.write_text(text)
    return fleet


def test_output_lists_the_ids_downstream_jobs_need(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    small_fleet(work)
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em)
        before = invoke_cli("output", "specs/fleet", "-o", "json", cwd=work, env=env)
        assert before.returncode == 0, before.stderr
        assert json.loads(before.stdout) == {"stack": "fleet", "documents": {}}

        applied = invoke_cli("apply", "specs/fleet", "--yes", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        again = invoke_cli("plan", "specs/fleet", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout

        result = invoke_cli("output", "specs/fleet", "-o", "json", cwd=work, env=env)
        assert result.returncode == 0, result.stderr
        documents = json.loads(result.stdout)["documents"]
        with connect_emulator(em) as target:
            image = target.compute.images.get("fleet-images-rg", "web-image")
            version = target.compute.gallery_image_versions.get(
                "fleet-images-rg", "fleetgallery", "web", "1.0.0"
            )
            east = {vm.name: vm for vm in target.compute.virtual_machines.list("fleet-east-rg")}
            nics = {nic.id.lower(): nic for nic in target.network.network_interfaces.list("fleet-east-rg")}
            vmss = target.compute.virtual_machine_scale_sets.get("fleet-west-rg", "web-west")
            golden = target.compute.virtual_machines.get("fleet-build-rg", "golden-build")

        capture = documents["Capture/web-image"]
        assert capture["managed_image"] == {"id": image.id, "name": "web-image"}
        assert capture["gallery_image_version"]["id"] == version.id
        assert capture["gallery_image_version"]["replication"] == {
            "eastus": "Completed",
            "westus": "Completed",
        }

        vms = documents["Deployment/web-east"]["vms"]
        assert [vm["name"] for vm in vms] == ["web-east-00", "web-east-01"]
        for vm in vms:
            nic = nics[east[vm["name"]].network_profile.network_interfaces[0].id.lower()]
            assert vm["id"] == east[vm["name"]].id
            assert vm["private_ips"] == [nic.ip_configurations[0].private_ip_address]
            assert vm["private_ips"][0].startswith("10.20.0.")
        assert documents["Deployment/web-west"] == {"scale_sets": [{"id": vmss.id, "name": "web-west"}]}
        assert documents["SourceVM/golden"]["vms"][0]["id"] == golden.id

        table = invoke_cli("output", "specs/fleet", cwd=work, env={**env, "COLUMNS": "300"})
        assert table.returncode == 0, table.stderr
        assert "Outputs of stack fleet" in table.stdout
        assert "replication westus" in table.stdout and vms[0]["private_ips"][0] in table.stdout


def test_output_lists_the_snapshots_of_a_specialized_capture(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    env_password = {"IMAGEPIPE_DEMO_ADMIN_PASSWORD": "Correct-Horse-9-Battery"}
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = endpoint_env(em) | env_password
        applied = invoke_cli("apply", "specs/snapshot-restore", "--yes", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr + applied.stdout
        again = invoke_cli("plan", "specs/snapshot-restore", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout

        result = invoke_cli("output", "specs/snapshot-restore", "-o", "json", cwd=work, env=env)
        assert result.returncode == 0, result.stderr
        snapshots = json.loads(result.stdout)["documents"]["Capture/app-snapshot"]["snapshots"]
        with connect_emulator(em) as target:
            made = {snap.id for snap in target.compute.snapshots.list_by_resource_group("snap-rg")}
        assert {snap["id"] for snap in snapshots} == made and len(made) == 3
