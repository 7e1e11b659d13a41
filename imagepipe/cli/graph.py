"""`imagepipe graph PATH... --format dot|mermaid|json`: the steps and their order."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli.common import handle_errors
from imagepipe.graph import build_graph
from imagepipe.graph.export import to_dot, to_json, to_mermaid
from imagepipe.spec import load_one

_RENDERERS = {"dot": to_dot, "mermaid": to_mermaid, "json": to_json}


@click.command(name="graph")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(_RENDERERS)),
    default="dot",
    show_default=True,
    help="dot for Graphviz, mermaid for pull requests, json for scripts.",
)
@handle_errors
def command(paths: tuple[Path, ...], output_format: str) -> None:
    """Print the dependency graph of one spec set's steps."""
    specset = load_one(paths)
    for warning in specset.warnings:
        click.echo(str(warning), err=True)
    click.echo(_RENDERERS[output_format](build_graph(specset)), nl=False)
