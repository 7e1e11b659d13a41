"""`imagepipe destroy` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command(name="destroy")
def command() -> None:
    """Not available yet."""
    raise click.UsageError("'destroy' is not available yet")
