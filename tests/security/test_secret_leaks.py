"""Secret values never leave the place Azure needs them.

validate, plan (text, JSON, plan file), apply and destroy run through the CLI against
the emulator with a Windows admin password from {env:} and an SSH public key from
{file:}; then every output, every file under the working folder (plans, .imagepipe/
debug log and state), the emulator's request log and its SQLite state are searched
for the values. The password must appear nowhere (osProfile.adminPassword is
write-only in Azure); the SSH key only where a VM keeps it
(osProfile.linuxConfiguration.ssh.publicKeys[].keyData).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from imagepipe.emulator import start_emulator

REPO = Path(__file__).resolve().parents[2]
PASSWORD_VAR = "IMAGEPIPE_DEMO_ADMIN_PASSWORD"
SPEED = 5000.0
# The one place a VM keeps the public key (SDK or wire naming).
KEY_FIELD = re.compile(r"(?i)os_?profile\.linux_?configuration\.ssh\.public_?keys\[\d+\]\.key_?data$")


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def new_ssh_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def found_at(value: Any, needle: str, path: str = "") -> Iterator[str]:
    """The JSON paths under ``value`` whose string contains ``needle``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from found_at(item, needle, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from found_at(item, needle, f"{path}[{index}]")
    elif isinstance(value, str) and needle in value:
        yield path


def files_containing(folder: Path, needle: str) -> list[str]:
    hits = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path.relative_to(folder)))
    return hits


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Any]:
    with start_emulator(tmp_path / "state", speed=SPEED, throttling=False) as em:
        switched = requests.post(
            em.url("/_emulator/requestlog"), json={"enabled": True}, verify=str(em.ca_file), timeout=30
        )
        switched.raise_for_status()
        yield em


def compute_client(em: Any) -> ComputeManagementClient:
    credential = ClientSecretCredential(
        em.tenant_id,
        em.client_id,
        em.client_secret,
        authority=em.endpoint,
        disable_instance_discovery=True,
        connection_verify=str(em.ca_file),
    )
    return ComputeManagementClient(
        credential,
        em.subscription_id,
        base_url=em.endpoint,
        credential_scopes=["https://management.azure.com/.default"],
        connection_verify=str(em.ca_file),
    )


LINUX_SOURCE = """\
apiVersion: imagepipe/v1
kind: SourceVM
metadata:
  name: linux-build
spec:
  resourceGroup: linux-rg
  vmName: linux-build
  create:
    securityType: Standard
    image: Ubuntu2204
    sshPublicKey: {file: keys/id.pub}
    subnet: {vnet: linux-vnet, name: build, addressPrefix: 10.42.0.0/24}
"""

WINDOWS_ONLY = """\
apiVersion: imagepipe/v1
kind: Stack
metadata:
  name: weak-password
spec:
  location: westeurope
---
apiVersion: imagepipe/v1
kind: SourceVM
metadata:
  name: weak
spec:
  resourceGroup: weak-rg
  vmName: weak-vm
  create:
    securityType: Standard
    image: Win2022AzureEdition
    adminPassword: {env: IMAGEPIPE_DEMO_ADMIN_PASSWORD}
    subnet: {vnet: weak-vnet, name: app, addressPrefix: 10.43.0.0/24}
"""


def test_no_command_file_log_or_state_reveals_a_secret(tmp_path: Path, emulator: Any) -> None:
    # The Windows example (password from {env:}) plus a Linux VM whose key comes from {file:}.
    specs = tmp_path / "work" / "specs" / "snapshot-restore"
    work = specs.parents[1]
    shutil.copytree(REPO / "specs" / "snapshot-restore", specs)
    (specs / "linux.yaml").write_text(LINUX_SOURCE)
    (specs / "keys").mkdir()
    ssh_key = new_ssh_public_key()
    ssh_secret_part = ssh_key.split()[1]
    (specs / "keys" / "id.pub").write_text(ssh_key + "\n")
    password = f"Pw-{secrets.token_hex(8)}-Aa1!"
    env = {**emulator.env(), PASSWORD_VAR: password}

    outputs: list[str] = []

    def cli(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        done = run_cli(*args, cwd=work, env={**env, **(extra or {})})
        outputs.extend([done.stdout, done.stderr])
        return done

    for args in (
        ("validate", "specs/snapshot-restore"),
        ("plan", "specs/snapshot-restore"),
        ("plan", "specs/snapshot-restore", "-o", "json"),
        ("plan", "specs/snapshot-restore", "--out", "saved.plan.json"),
        ("apply", "saved.plan.json", "--yes"),
        ("plan", "specs/snapshot-restore", "--detailed-exitcode"),  # nothing left to do
    ):
        done = cli(*args)
        assert done.returncode == 0, f"{args}: {done.stderr}"

    # Azure needs the values in the VM's osProfile: it keeps the key and never returns the password.
    vms = [vm.as_dict() for vm in compute_client(emulator).virtual_machines.list_all()]
    assert {vm["name"] for vm in vms} >= {"app-server", "linux-build"}
    assert not any(list(found_at(vm, password)) for vm in vms)
    key_paths = {path for vm in vms for path in found_at(vm, ssh_secret_part)}
    assert key_paths
    assert all(KEY_FIELD.search(path) for path in key_paths), key_paths

    # A password Azure refuses (too few character classes) is reported with Azure's
    # message, never with the value.
    weak = f"weak{secrets.token_hex(6)}"
    (work / "specs" / "weak").mkdir()
    (work / "specs" / "weak" / "weak.yaml").write_text(WINDOWS_ONLY)
    refused = cli("apply", "specs/weak", "--yes", extra={PASSWORD_VAR: weak})
    assert refused.returncode == 1 and "password" in refused.stderr.lower()

    destroyed = cli("destroy", "specs/snapshot-restore", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr

    text = "\n".join(outputs)
    assert "Traceback" not in text
    for value in (password, weak, ssh_secret_part):
        assert value not in text
    assert (work / "saved.plan.json").is_file()
    for value in (password, weak):
        assert files_containing(work, value) == []
        assert files_containing(tmp_path / "state", value) == []
    # The key file itself is the only file under the working folder that holds the key.
    assert files_containing(work, ssh_secret_part) == ["specs/snapshot-restore/keys/id.pub"]
    request_log = tmp_path / "state" / "requests.jsonl"
    assert request_log.is_file() and request_log.stat().st_size > 0
    assert ssh_secret_part not in request_log.read_text()


def test_an_unset_variable_or_a_missing_key_file_is_found_by_validate_and_plan(
    tmp_path: Path, emulator: Any
) -> None:
    work = tmp_path / "work"
    shutil.copytree(REPO / "specs" / "snapshot-restore", work / "specs" / "snapshot-restore")
    shutil.copytree(REPO / "specs" / "learn-exercise", work / "specs" / "learn-exercise")
    (work / "specs" / "learn-exercise" / "demo_id_ed25519.pub").unlink()
    env = {k: v for k, v in emulator.env().items()}
    without = {k: v for k, v in os.environ.items() if k != PASSWORD_VAR}
    cwd_env = {**without, **env}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "imagepipe.cli.main", *args],
            cwd=work,
            env=cwd_env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )

    # Not first found by the apply on merge: validate, plan and apply refuse, located, exit 1.
    for command in (("validate",), ("plan",), ("apply", "--yes")):
        ran = cli(*command, "specs/snapshot-restore")
        assert ran.returncode == 1 and "Traceback" not in ran.stderr
        assert (
            "snapshot-restore.yaml:23:20: error: spec.create.adminPassword.env: "
            f"environment variable {PASSWORD_VAR} is not set"
        ) in ran.stdout + ran.stderr
        ran = cli(*command, "specs/learn-exercise")
        assert ran.returncode == 1 and "Traceback" not in ran.stderr
        assert (
            "learn-exercise.yaml:30:19: error: spec.create.sshPublicKey.file: cannot read secret file "
            "demo_id_ed25519.pub: No such file or directory"
        ) in ran.stdout + ran.stderr
    journal = requests.get(f"{emulator.endpoint}/_emulator/journal", verify=str(emulator.ca_file), timeout=30)
    groups = ("/resourcegroups/snap-rg/", "/resourcegroups/snap-restore-rg/", "/resourcegroups/learn-rg/")
    assert not [
        op for op in journal.json()["value"] if any(g in op["resourceId"].lower() + "/" for g in groups)
    ]
