"""An emulator per test (fast, throttling off unless a test says otherwise) and SDK clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target, connect_emulator
from imagepipe.emulator import start_emulator

FAST = 1000.0


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Any]:
    with start_emulator(tmp_path / "emulator-state", speed=FAST, throttling=False) as em:
        yield em


@pytest.fixture
def target(emulator: Any) -> Iterator[Target]:
    target = connect_emulator(emulator, polling_interval=0.02)
    yield target
    target.close()


@pytest.fixture
def azure(target: Target) -> Azure:
    return Azure(target)
