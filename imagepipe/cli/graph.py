"""`imagepipe graph` (placeholder until its issue lands)."""

from __future__ import annotations

import click


@click.command(name="graph")
def command() -> None:
    """Not available yet."""
    raise click.UsageError("'graph' is not available yet")
