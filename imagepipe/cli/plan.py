"""`imagepipe plan` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command(name="plan")
def command() -> None:
    """Not available yet."""
    raise click.UsageError("'plan' is not available yet")
