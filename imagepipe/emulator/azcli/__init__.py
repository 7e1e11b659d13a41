"""What the az CLI needs beyond imagepipe's own resource types: `az vm create` sends a template deployment.

Template deployments (`Microsoft.Resources/deployments`, evaluated by `template.py`), public
IP addresses and network security groups are served only once `register()` has run. The
embedded emulator and `imagepipe emulator serve` call it (`Emulator(az_cli=True)`, the
default); the kinds registry is process-wide, so once registered they stay served.
"""

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


__all__ = ["register"]
