"""Load a spec set, build its graph and connect to the target: what every engine command starts with."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target, connect
from imagepipe.graph import build_graph
from imagepipe.spec import load_one
from imagepipe.spec.model import SpecSet
from imagepipe.target_config import TargetConfig


def _quiet(message: str) -> None:
    pass


@dataclass
class Session:
    specset: SpecSet
    graph: Any
    target: Target
    azure: Azure
    paths: list[str]
    lock_timeout: float = 0.0  # seconds a run waits for the stack's lock held by another run
    notice: Callable[[str], None] = _quiet  # what a run says while it waits


def load_specs(paths: Sequence[Path]) -> tuple[SpecSet, Any]:
    specset = load_one(list(paths))
    return specset, build_graph(specset)


@contextmanager
def open_session(
    paths: Sequence[Path],
    config: TargetConfig,
    target: Target | None = None,
    *,
    lock_timeout: float = 0.0,
    notice: Callable[[str], None] = _quiet,
) -> Iterator[Session]:
    """Specs first (a bad spec fails before any connection), then the target; closed at the end."""
    specset, graph = load_specs(paths)
    owned = target is None
    target = target or connect(config)
    try:
        yield Session(specset, graph, target, Azure(target), [str(p) for p in paths], lock_timeout, notice)
    finally:
        if owned:
            target.close()
