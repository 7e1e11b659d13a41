"""`imagepipe graph PATH... --format dot|mermaid|json`: the steps and their order."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.errors import ExitCode
from imagepipe.graph.export import to_dot, to_json, to_mermaid
from imagepipe.render.diagnostics import diagnostic_text

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
def command(paths: tuple[Path, ...], output_format: str) -> ExitCode:
    """Print the dependency graph of one spec set's steps."""
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    outcome = usecases.graph(usecases.GraphRequest(paths))
    for warning in outcome.warnings:
        click.echo(diagnostic_text(warning), err=True)
    click.echo(_RENDERERS[output_format](outcome.graph), nl=False)
    return ExitCode.SUCCESS
