"""Fixtures of the reliability suite: an emulator process per test, reference outcomes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import EmulatorProcess, Expected, expected_outcome  # noqa: E402

FAST = 1000.0


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path / "emulator", speed=FAST) as em:
        yield em


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Expected]:
    """What a clean, undisturbed apply of an example leaves in an empty subscription (cached)."""
    cache: dict[str, Expected] = {}

    def of(name: str) -> Expected:
        if name not in cache:
            cache[name] = expected_outcome(name, tmp_path_factory.mktemp(f"reference-{name}"), FAST)
        return cache[name]

    return of
