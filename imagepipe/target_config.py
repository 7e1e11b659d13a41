"""Where the engine acts: the embedded emulator, Azure, or any ARM endpoint.

A plain value below every layer that reads it: the command line fills it in, the
application layer passes it on, and ``azure/target.py`` turns it into clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The one default state folder of the local emulator: the embedded one (`--target local`) and
# `imagepipe emulator serve` both keep their state (emulator.sqlite, the CA) here.
DEFAULT_STATE_DIR = Path(".imagepipe")


@dataclass(frozen=True)
class TargetConfig:
    """Where the commands act: the embedded emulator, Azure, or any ARM endpoint."""

    target: str  # "local" or "azure"
    subscription: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    chosen: bool = True  # False when --target local was the default, not asked for
