"""Fixtures for the SDK-driven emulator suite: emulators on free ports in temporary folders."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from imagepipe.emulator import start_emulator

from .helpers import Clients, create_resource_group, create_subnet, make_clients, unique

# Fast enough that a VM create (60 simulated seconds) takes a few milliseconds.
FAST = 5000.0


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One fast emulator per test module, throttling off; tests use their own resource groups."""
    with start_emulator(tmp_path_factory.mktemp("emulator"), speed=FAST, throttling=False) as em:
        yield em


@pytest.fixture(scope="module")
def clients(emulator: Any) -> Clients:
    return make_clients(emulator)


@pytest.fixture
def rg(clients: Clients) -> str:
    """A fresh resource group in eastus."""
    return create_resource_group(clients, unique("rg"))


@pytest.fixture
def subnet_id(clients: Clients, rg: str) -> str:
    return create_subnet(clients, rg)


@pytest.fixture
def start_other(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start extra emulators (other speeds, throttling on, a given state folder); all stopped at the end."""
    folders = itertools.count()
    with ExitStack() as stack:

        def start(state_dir: Path | None = None, *, speed: float = FAST, throttling: bool = False) -> Any:
            if state_dir is None:
                state_dir = tmp_path / f"state-{next(folders)}"
                state_dir.mkdir()
            return stack.enter_context(start_emulator(state_dir, speed=speed, throttling=throttling))

        yield start
