"""The local ARM emulator: the embedded default target and the project's only fake of Azure.

The names below load on first use (PEP 562): `from imagepipe.emulator import ids` inside the
emulator then never runs the server's imports, so the package has no import circle, and a
client that only needs a constant does not load starlette.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagepipe.emulator.ids import CLIENT_ID, DEFAULT_CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID
    from imagepipe.emulator.server import Emulator, start_emulator

_EXPORTS = {
    "CLIENT_ID": "imagepipe.emulator.ids",
    "DEFAULT_CLIENT_SECRET": "imagepipe.emulator.ids",
    "SUBSCRIPTION_ID": "imagepipe.emulator.ids",
    "TENANT_ID": "imagepipe.emulator.ids",
    "Emulator": "imagepipe.emulator.server",
    "start_emulator": "imagepipe.emulator.server",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CLIENT_ID", "DEFAULT_CLIENT_SECRET", "SUBSCRIPTION_ID", "TENANT_ID", "Emulator", "start_emulator"]
