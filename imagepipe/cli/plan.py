"""`imagepipe plan`: what apply would change, for people, scripts and pull requests."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli.common import output_option, target_config, target_options
from imagepipe.errors import ExitCode
from imagepipe.render.console import console
from imagepipe.render.plan import plan_json, plan_text


@click.command(name="plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan for `apply FILE`.",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes, 1 on error.")
@click.option(
    "--prune", is_flag=True, help="Plan the deletion of owned resources no spec describes any more."
)
@target_options
@output_option
def command(
    paths: tuple[Path, ...],
    out_file: Path | None,
    detailed_exitcode: bool,
    prune: bool,
    target: str,
    subscription: str | None,
    endpoint: str | None,
    ca_file: str | None,
    output: str,
) -> ExitCode:
    """Show what `apply` would create, change, delete and run, without changing anything."""
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    config = target_config(target, subscription, endpoint, ca_file)
    outcome = usecases.plan(usecases.PlanRequest(paths, config, prune=prune))
    plan = outcome.plan
    if output == "json":
        click.echo(plan_json(plan))
    else:
        plan_text(plan, console())
    if out_file is not None:
        plan.save(out_file)
        if output != "json":
            click.echo(
                f"Saved the plan to {out_file}; run `imagepipe apply {out_file}` to execute exactly it."
            )
    outcome.refuse_conflicts()
    return ExitCode.CHANGES_PENDING if detailed_exitcode and plan.has_changes else ExitCode.SUCCESS
