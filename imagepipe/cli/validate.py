"""`imagepipe validate PATH...`: schema, references and domain rules, every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli.common import EXIT_FAILURE, EXIT_OK, handle_errors, output_option
from imagepipe.render.diagnostics import all_diagnostics, diagnostic_line, summary, validation_json
from imagepipe.spec import load_spec_sets


@click.command(name="validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option
@handle_errors
def command(paths: tuple[Path, ...], output: str) -> None:
    """Check spec files and folders: exit 0 if valid (warnings allowed), 1 if not."""
    results = load_spec_sets(paths)
    if output == "json":
        click.echo(validation_json(results))
    else:
        colour = click.get_text_stream("stdout").isatty()
        for diagnostic in all_diagnostics(results):
            click.echo(diagnostic_line(diagnostic, colour))
        click.echo(summary(results), err=True)
    click.get_current_context().exit(EXIT_OK if all(r.valid for r in results) else EXIT_FAILURE)
