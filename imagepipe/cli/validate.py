"""`imagepipe validate` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command(name="validate")
def command() -> None:
    """Not available yet."""
    raise click.UsageError("'validate' is not available yet")
