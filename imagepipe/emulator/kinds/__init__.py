"""Resource types the emulator serves, one module per family; importing registers them.

The az CLI's extra types (template deployments, public IPs, NSGs) are in `emulator/azcli/`.
"""

from __future__ import annotations

from imagepipe.emulator.kinds import (  # noqa: F401
    disks,
    gallery,
    groups,
    images,
    network,
    restorepoints,
    runcommands,
    vm,
    vmss,
    vmss_rolling,
)
from imagepipe.emulator.kinds.base import KINDS, Kind

__all__ = ["KINDS", "Kind"]
