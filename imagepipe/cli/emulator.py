"""`imagepipe emulator ...` (placeholder until the emulator lands)."""

from __future__ import annotations

import click


@click.group(name="emulator")
def group() -> None:
    """The local ARM emulator."""
