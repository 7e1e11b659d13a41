"""`imagepipe validate PATH...`: every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli import ci
from imagepipe.cli.common import annotations_option, output_option
from imagepipe.errors import ExitCode
from imagepipe.render.diagnostics import all_diagnostics, diagnostic_text, summary, validation_json


@click.command(name="validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option
@annotations_option
def command(paths: tuple[Path, ...], output: str, annotations: str) -> ExitCode:
    """Check spec files and folders: exit 0 if valid (warnings allowed), 1 if not."""
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    outcome = usecases.validate(usecases.ValidateRequest(paths))
    if output == "json":
        click.echo(validation_json(outcome.results))
    else:
        colour = click.get_text_stream("stdout").isatty()
        for diagnostic in all_diagnostics(outcome.results):
            click.echo(diagnostic_text(diagnostic, colour))
        click.echo(summary(outcome.results), err=True)
    ci.report_diagnostics(
        ci.described(paths),
        all_diagnostics(outcome.results),
        annotations,
        document_on_stdout=output == "json",
    )
    return ExitCode.SUCCESS if outcome.valid else ExitCode.FAILURE
