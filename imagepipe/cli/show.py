"""`imagepipe show PLANFILE`: a saved plan, for people or scripts, without touching the target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from imagepipe.errors import ExitCode
from imagepipe.plan.model import Plan
from imagepipe.render.console import console
from imagepipe.render.json_plan import render_plan_json
from imagepipe.render.markdown import render_plan_markdown
from imagepipe.render.plan import plan_table, plan_text
from imagepipe.render.safe import markup


def _text(plan: Plan) -> None:
    out = console()
    plan_text(plan, out)
    paths = ", ".join(plan.paths)
    out.print(f"[dim]Saved for subscription {markup(plan.subscription)}, specs {markup(paths)}.[/dim]")


def _json(plan: Plan) -> None:
    click.echo(render_plan_json(plan))


def _markdown(plan: Plan) -> None:
    click.echo(render_plan_markdown(plan), nl=False)


def _table(plan: Plan) -> None:
    plan_table(plan, console())


# One renderer per -o value: another format is one more entry.
RENDERERS: dict[str, Callable[[Plan], None]] = {
    "text": _text,
    "json": _json,
    "markdown": _markdown,
    "table": _table,
}


@click.command(name="show")
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Choice(list(RENDERERS)),
    default="text",
    show_default=True,
    help="text for people, json for scripts (the same JSON as `plan -o json`), markdown for a "
    "pull-request comment, table: one row per change.",
)
def command(plan_file: Path, output: str) -> ExitCode:
    """Show a plan saved by `plan --out PLANFILE`; reads no spec and no cloud."""
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    outcome = usecases.show(usecases.ShowRequest(plan_file))
    RENDERERS[output](outcome.plan)
    return ExitCode.SUCCESS
