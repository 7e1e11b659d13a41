"""Turn on the az CLI's extra resource types in the kinds registry."""

from __future__ import annotations

from imagepipe.emulator.azcli.deployments import DeploymentOperations, Deployments
from imagepipe.emulator.azcli.network import NetworkSecurityGroups, PublicIPAddresses
from imagepipe.emulator.kinds.base import KINDS, Kind
from imagepipe.emulator.kinds.base import register as register_kind

_KINDS: tuple[type[Kind], ...] = (PublicIPAddresses, NetworkSecurityGroups, Deployments, DeploymentOperations)


def register() -> None:
    """Serve the az CLI's extra resource types (idempotent)."""
    for kind in _KINDS:
        if kind.type_name.lower() not in KINDS:
            register_kind(kind())
