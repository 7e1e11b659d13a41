"""Run `imagepipe emulator serve` as a subprocess and read its admin API.

The emulator is a separate process so that its request handling does not share
the benchmark's interpreter (and GIL) with the client under test.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

EXPORT_NAMES = (
    "IMAGEPIPE_ENDPOINT",
    "IMAGEPIPE_CA_FILE",
    "REQUESTS_CA_BUNDLE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "AZURE_SUBSCRIPTION_ID",
)
STARTUP_TIMEOUT = 60.0


class EmulatorError(RuntimeError):
    """The emulator did not start or its admin API did not answer."""


def imagepipe_command() -> list[str]:
    """The `imagepipe` console script of the interpreter running the benchmark."""
    script = shutil.which("imagepipe", path=str(Path(sys.executable).parent)) or shutil.which("imagepipe")
    if script is None:
        raise EmulatorError("the imagepipe command is not installed next to this Python")
    return [script]


def parse_exports(text: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted values) -> {NAME: value}."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = shlex.split(line)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            name, value = parts[1].split("=", 1)
            found[name] = value
    return found


class EmulatorProcess:
    """`imagepipe emulator serve --port 0 --state DIR/emulator.sqlite --speed S` until closed."""

    def __init__(self, state_dir: Path, speed: float) -> None:
        self.state_dir = state_dir.resolve()
        self.speed = speed
        self.env: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return self.env["IMAGEPIPE_ENDPOINT"]

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        out_path, err_path = self.state_dir / "serve.out", self.state_dir / "serve.err"
        command = [
            *imagepipe_command(),
            "emulator",
            "serve",
            "--port",
            "0",  # the emulator binds a free port and prints it in IMAGEPIPE_ENDPOINT
            "--state",
            str(self.state_dir / "emulator.sqlite"),
            "--speed",
            f"{self.speed:g}",
        ]
        # Output goes to files: a pipe nobody drains would block the server once full.
        with out_path.open("wb") as out, err_path.open("wb") as err:
            self._process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            exports = parse_exports(out_path.read_text(encoding="utf-8", errors="replace"))
            if all(name in exports for name in EXPORT_NAMES):
                self.env = exports
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        detail = err_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [
            "no output"
        ]
        raise EmulatorError(f"`imagepipe emulator serve` did not start: {detail[0]}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._session.close()

    def client_environment(self) -> dict[str, str]:
        """This process's environment plus the emulator's export lines."""
        return {**os.environ, **self.env}

    def stats(self) -> dict[str, Any]:
        return self._admin("GET", "stats")

    def reset(self) -> None:
        self._admin("POST", "reset")

    def request_log(self, enabled: bool = True) -> Path:
        """Switch the emulator's JSON-lines request log on (or off); answers its path."""
        try:
            response = self._session.post(
                f"{self.endpoint}/_emulator/requestlog",
                json={"enabled": enabled},
                timeout=60,
                verify=self.env["IMAGEPIPE_CA_FILE"],
            )
            response.raise_for_status()
        except requests.RequestException as error:
            raise EmulatorError(f"admin API POST /_emulator/requestlog: {error}") from None
        return Path(response.json()["path"])

    def journal(self, operation: str) -> list[dict[str, Any]]:
        """Every operation of that name with its start and end times (wall clock, UTC)."""
        return self._admin("GET", "journal", {"name": operation})["value"]

    def _admin(self, method: str, name: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self._session.request(
                method,
                f"{self.endpoint}/_emulator/{name}",
                params=params,
                timeout=60,
                verify=self.env["IMAGEPIPE_CA_FILE"],
            )
            response.raise_for_status()
        except requests.RequestException as error:
            raise EmulatorError(f"admin API {method} /_emulator/{name}: {error}") from None
        return response.json()
