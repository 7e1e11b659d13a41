"""`imagepipe apply` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command(name="apply")
def command() -> None:
    """Not available yet."""
    raise click.UsageError("'apply' is not available yet")
