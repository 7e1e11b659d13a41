"""`imagepipe plan`: what apply would change, for people, scripts and pull requests."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli import ci
from imagepipe.cli.common import (
    annotations_option,
    cloud_name,
    output_choices,
    target_config,
    target_options,
)
from imagepipe.errors import ExitCode
from imagepipe.render.console import console
from imagepipe.render.json_plan import render_plan_json
from imagepipe.render.markdown import render_plan_markdown
from imagepipe.render.plan import plan_text
from imagepipe.render.step_summary import plan_summary


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
@output_choices("text", "json", "markdown")
@annotations_option
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
    annotations: str,
) -> ExitCode:
    """Show what `apply` would create, change, delete and run, without changing anything.

    \b
    -o json: the plan for policy tools (schema: imagepipe/schemas/plan-json-v1.schema.json).
    -o markdown: the plan as a pull-request comment (found again by its first line).
    """
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    config = target_config(target, subscription, endpoint, ca_file)
    document = output != "text"
    with ci.annotating(annotations, what=ci.described(paths), document_on_stdout=document):
        outcome = usecases.plan(usecases.PlanRequest(paths, config, prune=prune))
    plan = outcome.plan
    ci.annotate(ci.plan_diagnostics(plan), annotations, document_on_stdout=document)
    cloud = cloud_name(config)
    if output == "json":
        click.echo(render_plan_json(plan, target=cloud))
    elif output == "markdown":
        click.echo(render_plan_markdown(plan, target=cloud, full_plan_at=ci.full_plan_at()), nl=False)
    else:
        plan_text(plan, console())
    if out_file is not None:
        plan.save(out_file)
        if not document:
            click.echo(
                f"Saved the plan to {out_file}; run `imagepipe apply {out_file}` to execute exactly it."
            )
    if output != "json":  # the summary is for people: a policy tool's extra run adds none
        plan_summary(plan, target=cloud, echo=lambda line: click.echo(line, err=document))
    outcome.refuse_conflicts()
    return ExitCode.CHANGES_PENDING if detailed_exitcode and plan.has_changes else ExitCode.SUCCESS
