"""The local ARM emulator: the embedded default target and the project's only fake of Azure."""

from __future__ import annotations

from imagepipe.emulator.ids import CLIENT_ID, DEFAULT_CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID
from imagepipe.emulator.server import Emulator, start_emulator

__all__ = ["CLIENT_ID", "DEFAULT_CLIENT_SECRET", "SUBSCRIPTION_ID", "TENANT_ID", "Emulator", "start_emulator"]
