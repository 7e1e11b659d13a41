"""`imagepipe emulator serve` prints what a shell needs, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import requests

EXPECTED = [
    "IMAGEPIPE_ENDPOINT",
    "IMAGEPIPE_CA_FILE",
    "REQUESTS_CA_BUNDLE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "AZURE_SUBSCRIPTION_ID",
]


def test_serve_prints_exports_then_serves_until_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "imagepipe.cli.main", "emulator", "serve", "--port", "0"]
    command += ["--state", str(tmp_path), "--speed", "1000"]  # a folder: emulator.sqlite goes in it
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline().strip() for _ in EXPECTED]
        exports = dict(shlex.split(line)[1].split("=", 1) for line in lines)
        assert list(exports) == EXPECTED
        assert all(line.startswith("export ") for line in lines)
        assert Path(exports["IMAGEPIPE_CA_FILE"]).parent == tmp_path

        endpoint, ca = exports["IMAGEPIPE_ENDPOINT"], exports["IMAGEPIPE_CA_FILE"]
        token = requests.post(
            f"{endpoint}/{exports['AZURE_TENANT_ID']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": exports["AZURE_CLIENT_ID"],
                "client_secret": exports["AZURE_CLIENT_SECRET"],
                "scope": "https://management.azure.com/.default",
            },
            verify=ca,
            timeout=10,
        ).json()["access_token"]
        subscriptions = requests.get(
            f"{endpoint}/subscriptions",
            params={"api-version": "2022-12-01"},
            headers={"Authorization": f"Bearer {token}"},
            verify=ca,
            timeout=10,
        )
        assert subscriptions.json()["value"][0]["subscriptionId"] == exports["AZURE_SUBSCRIPTION_ID"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    assert "Traceback" not in (server.stderr.read() if server.stderr else "")


def test_serve_on_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "imagepipe.cli.main",
                "emulator",
                "serve",
                "--port",
                str(port),
                "--state",
                str(tmp_path / "emulator.sqlite"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ},
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


def test_serve_keeps_its_state_in_the_named_file_and_prints_absolute_paths(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "imagepipe.cli.main", "emulator", "serve", "--port", "0"]
    command += ["--state", "arm/state.sqlite", "--speed", "1000"]  # relative, with a name of its own
    server = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        exports = dict(shlex.split(server.stdout.readline().strip())[1].split("=", 1) for _ in EXPECTED[:2])
        ca_file = Path(exports["IMAGEPIPE_CA_FILE"])
        assert ca_file.is_absolute() and ca_file.parent == (tmp_path / "arm").resolve()
        assert (tmp_path / "arm" / "state.sqlite").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
