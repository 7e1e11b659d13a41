"""Shared helpers of the engine's integration tests: spec sets on disk, the admin API, applying."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from imagepipe.app.run import RunOutcome, apply_specs, destroy
from imagepipe.app.session import open_session
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.plan.model import Plan
from imagepipe.plan.planner import make_plan
from imagepipe.target_config import TargetConfig

REPO = Path(__file__).resolve().parents[2]
LEARN = REPO / "specs" / "learn-exercise"
CONFIG = TargetConfig(target="local")


def learn_vm_name() -> str:
    """The name the Learn exercise gives its deployed VM (read from the spec, not repeated here)."""
    from imagepipe.spec import load_one

    return load_one([LEARN]).get("Deployment/new-vm").vm_name(0)


LEARN_VM = learn_vm_name()


def copy_learn(tmp_path: Path, stack: str | None = None, rg: str | None = None) -> Path:
    """The Learn exercise in a temp folder, optionally renamed (stack, resource group)."""
    folder = tmp_path / (stack or "learn-exercise")
    shutil.copytree(LEARN, folder)
    spec = folder / "learn-exercise.yaml"
    text = spec.read_text()
    if stack:
        text = text.replace("name: learn-exercise", f"name: {stack}")
    if rg:
        text = text.replace("learn-rg", rg)
    spec.write_text(text)
    return folder


def write_specs(folder: Path, yaml_text: str, key_from: Path = LEARN / "demo_id_ed25519.pub") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "specs.yaml").write_text(textwrap.dedent(yaml_text))
    shutil.copy(key_from, folder / "key.pub")
    return folder


def plan(target: Target, folder: Path, prune: bool = False) -> Plan:
    with open_session([folder], CONFIG, target=target) as session:
        return make_plan(session.specset, session.graph, session.azure, paths=[str(folder)], prune=prune).plan


def apply(target: Target, folder: Path, **kwargs: Any) -> RunOutcome:
    with open_session([folder], CONFIG, target=target) as session:
        return apply_specs(session, parallelism=kwargs.pop("parallelism", 10), **kwargs)


def destroy_stack(target: Target, folder: Path) -> RunOutcome:
    with open_session([folder], CONFIG, target=target) as session:
        return destroy(session)


def admin(emulator: Any, path: str, body: Any = None) -> Any:
    url = f"{emulator.endpoint}/_emulator/{path}"
    if body is None:
        response = requests.get(url, verify=str(emulator.ca_file), timeout=30)
    else:
        response = requests.post(url, json=body, verify=str(emulator.ca_file), timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def writes(stats: dict[str, Any]) -> int:
    requests_by_method = stats.get("requests", {})
    return sum(
        n for method, n in requests_by_method.items() if method.upper() in ("PUT", "POST", "PATCH", "DELETE")
    )


def journal(emulator: Any) -> list[dict[str, Any]]:
    data = admin(emulator, "journal")
    return data["value"]


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


@dataclass
class KilledRun:
    output: str  # what the run printed up to the kill
    in_flight: list[dict[str, Any]]  # the operations running when the kill landed; empty if none


def in_flight(emulator: Any) -> list[dict[str, Any]]:
    return [op for op in journal(emulator) if op.get("status") == "InProgress"]


def apply_until(emulator: Any, folder: Path, trigger: str, cwd: Path, timeout: float = 60) -> KilledRun:
    """Run the CLI against the emulator and SIGKILL it once a progress line contains ``trigger``
    and one of its operations is in flight (so the kill lands mid-operation)."""
    env = {**os.environ, **emulator.env(), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "imagepipe.cli.main", "apply", str(folder), "--yes", "-o", "text"]
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen = []
    running: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if trigger in line:
            deadline = time.monotonic() + timeout
            while not running and proc.poll() is None and time.monotonic() < deadline:
                running = in_flight(emulator)
                if not running:
                    time.sleep(0.01)
            if proc.poll() is not None:
                running = []  # the run ended before the kill
            proc.kill()
            break
    proc.wait(timeout=60)
    return KilledRun("".join(seen), running)


def make_untagged_vm(azure: Azure, rg: str, name: str, security_type: str = "Standard") -> None:
    """A VM made by hand (no imagepipe tags), as someone might have done with the az CLI."""
    azure.resources.resource_groups.create_or_update(rg, {"location": "eastus"})
    azure.network.virtual_networks.begin_create_or_update(
        rg,
        "hand-vnet",
        {
            "location": "eastus",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
                "subnets": [{"name": "s", "properties": {"addressPrefix": "10.9.0.0/24"}}],
            },
        },
    ).result()
    subnet = azure.subnet_id(rg, "hand-vnet", "s")
    nic = azure.network.network_interfaces.begin_create_or_update(
        rg,
        f"{name}-hand-nic",
        {
            "location": "eastus",
            "properties": {"ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet}}}]},
        },
    ).result()
    azure.compute.virtual_machines.begin_create_or_update(
        rg,
        name,
        {
            "location": "eastus",
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_B1s"},
                "securityProfile": {"securityType": security_type},  # Standard: fits a managed image
                "storageProfile": {
                    "imageReference": {
                        "publisher": "Canonical",
                        "offer": "0001-com-ubuntu-server-jammy",
                        "sku": "22_04-lts-gen2",
                        "version": "latest",
                    }
                },
                "osProfile": {
                    "computerName": name,
                    "adminUsername": "someone",
                    "adminPassword": "Hand-made-Passw0rd!",
                },
                "networkProfile": {"networkInterfaces": [{"id": nic.id}]},
            },
        },
    ).result()
