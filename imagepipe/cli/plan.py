"""`imagepipe plan`: what apply would change, for people, scripts and pull requests."""

from __future__ import annotations

import os
from pathlib import Path

import click

from imagepipe.cli import ci
from imagepipe.cli.common import (
    annotations_option,
    cloud_name,
    lock_timeout_option,
    output_choices,
    target_config,
    target_options,
)
from imagepipe.errors import ExitCode, ImagepipeError
from imagepipe.plan.model import Plan
from imagepipe.render.console import console
from imagepipe.render.json_plan import render_plan_json
from imagepipe.render.markdown import render_plan_markdown
from imagepipe.render.plan import plan_table, plan_text
from imagepipe.render.safe import printable
from imagepipe.render.step_summary import plan_summary


def check_writable(out_file: Path) -> None:
    """Refuse an --out whose folder is missing or not writable, with a clear message."""
    folder = out_file.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ImagepipeError(f"--out {out_file}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK | os.X_OK) or (out_file.exists() and not os.access(out_file, os.W_OK)):
        raise ImagepipeError(f"--out {out_file}: permission denied, cannot write the plan there")


def save_plan(plan: Plan, out_file: Path) -> None:
    try:
        plan.save(out_file)
    except OSError as exc:
        raise ImagepipeError(f"--out {out_file}: cannot write the plan: {exc.strerror or exc}") from None


@click.command(name="plan")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan to FILE (any name) for `apply FILE` and `show FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 without changes, 2 with changes pending, 1 on any error (usage errors included).",
)
@click.option(
    "--prune", is_flag=True, help="Plan the deletion of owned resources no spec describes any more."
)
@lock_timeout_option(
    "First wait up to DURATION (30s, 5m) while an apply or destroy holds the stack's lock, so the "
    "plan does not show its changes half done [default: plan at once, without looking at the lock]."
)
@target_options
@output_choices("text", "json", "markdown", "table")
@annotations_option
def command(
    paths: tuple[Path, ...],
    out_file: Path | None,
    detailed_exitcode: bool,
    prune: bool,
    lock_timeout: float | None,
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
    if out_file is not None:
        check_writable(out_file)  # before planning: a long plan must not end in "cannot write"
    notice = lambda message: click.echo(printable(message), err=True)  # noqa: E731
    request = usecases.PlanRequest(paths, config, prune=prune, lock_timeout=lock_timeout, notice=notice)
    with ci.annotating(annotations, what=ci.described(paths), document_on_stdout=document):
        outcome = usecases.plan(request)
    plan = outcome.plan
    ci.annotate(ci.plan_diagnostics(plan), annotations, document_on_stdout=document)
    cloud = cloud_name(config)
    if output == "json":
        click.echo(render_plan_json(plan, target=cloud))
    elif output == "markdown":
        click.echo(render_plan_markdown(plan, target=cloud, full_plan_at=ci.full_plan_at()), nl=False)
    elif output == "table":
        plan_table(plan, console())
    else:
        plan_text(plan, console())
    if out_file is not None:
        save_plan(plan, out_file)
        if not document:
            click.echo(
                f"Saved the plan to {out_file}; run `imagepipe apply {out_file}` to execute exactly it."
            )
    if output != "json":  # the summary is for people: a policy tool's extra run adds none
        plan_summary(plan, target=cloud, echo=lambda line: click.echo(line, err=document))
    outcome.refuse_conflicts()
    return ExitCode.CHANGES_PENDING if detailed_exitcode and plan.has_changes else ExitCode.SUCCESS
