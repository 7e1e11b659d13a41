"""Helpers shared by the end-to-end tests: run the CLI as a subprocess in a work folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def workdir_with_specs(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(REPO / "specs", work / "specs")
    return work


def endpoint_env(emulator: Any) -> dict[str, str]:
    return dict(emulator.env())
