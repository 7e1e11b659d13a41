"""`imagepipe plan`: what apply would change, for people, scripts and pull requests."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    handle_errors,
    output_option,
    target_config,
    target_options,
)
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
@handle_errors
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
) -> None:
    """Show what `apply` would create, change, delete and run, without changing anything."""
    # The engine loads the Azure SDK: only when the command runs, so --help and other commands stay quick.
    from imagepipe.apply.run import refuse_conflicts
    from imagepipe.apply.session import open_session
    from imagepipe.plan.planner import make_plan

    config = target_config(target, subscription, endpoint, ca_file)
    with open_session(list(paths) or [Path(".")], config) as session:
        planned = make_plan(session.specset, session.graph, session.azure, paths=session.paths, prune=prune)
    plan = planned.plan
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
    refuse_conflicts(plan)
    ctx = click.get_current_context()
    ctx.exit(EXIT_USAGE if detailed_exitcode and plan.has_changes else EXIT_OK)
