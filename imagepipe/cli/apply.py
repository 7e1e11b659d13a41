"""`imagepipe apply`: reconcile the target with the specs (or execute a saved plan)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imagepipe.cli import ci
from imagepipe.cli.common import (
    annotations_option,
    cloud_name,
    is_interactive,
    output_option,
    target_config,
    target_options,
)
from imagepipe.errors import ExitCode, ImagepipeError, SpecError, UsageError
from imagepipe.plan.model import Plan
from imagepipe.render.console import console, progress_for, show_plan
from imagepipe.render.progress import summary_counts, summary_table
from imagepipe.render.safe import printable
from imagepipe.render.step_summary import apply_summary, refusal_summary

if TYPE_CHECKING:
    from imagepipe.app.run import RunOutcome
    from imagepipe.app.usecases import Hooks


def confirmer(yes: bool, verb: str) -> Callable[[Plan], bool]:
    """Ask on a TTY unless --yes; without a TTY, --yes is required (exit 2)."""
    if not yes and not is_interactive():
        raise UsageError(f"{verb} needs confirmation: pass --yes when not running on a terminal")

    def confirm(plan: Plan) -> bool:
        return yes or click.confirm(f"Do you want to {verb} these changes?", default=False)

    return confirm


def saved_plan_file(paths: tuple[Path, ...]) -> Path | None:
    """A single .json file argument is a plan saved by `plan --out`."""
    if len(paths) != 1 or not paths[0].is_file() or paths[0].suffix.lower() != ".json":
        return None
    return paths[0]


def report(outcome: RunOutcome, output: str) -> ExitCode:
    out = console()
    if outcome.result is None:
        if output == "json":
            click.echo(
                json.dumps({"event": "summary", "changes": outcome.plan.has_changes, "applied": False})
            )
        elif not outcome.confirmed:
            click.echo("Cancelled: nothing was changed.")
        else:
            click.echo("No changes. The infrastructure matches the specs.")
        return ExitCode.SUCCESS
    result = outcome.result
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "event": "summary",
                    **summary_counts(result),
                    "failures": [f.__dict__ for f in result.failures],
                }
            )
        )
    else:
        out.print()
        summary_table(result, out)
    for failure in result.failures:
        click.echo(f"error: {printable(failure.address)}: {printable(failure.message)}", err=True)
    return ExitCode.SUCCESS if result.ok else ExitCode.FAILURE


def run_with_progress(
    use_case: Callable[[Hooks], RunOutcome],
    confirm: Callable[[Plan], bool],
    output: str,
    on_outcome: Callable[[RunOutcome], None] = lambda outcome: None,
) -> ExitCode:
    """Run an apply or destroy use case with the plan shown, the prompt and the progress view
    wired in, then report its outcome (``on_outcome`` sees it first: the job summary)."""
    from imagepipe.app.usecases import Hooks

    out = console()
    progress = progress_for(output, out)
    hooks = Hooks(
        show_plan=lambda plan: show_plan(plan, output, out),
        confirm=confirm,
        on_event=progress,
        on_start=progress.start,
    )
    try:
        outcome = use_case(hooks)
    finally:
        progress.stop()
    on_outcome(outcome)
    return report(outcome, output)


@click.command(name="apply")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option("--prune", is_flag=True, help="Also delete owned resources no spec describes any more.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 2000),
    default=None,
    help="At most this many steps at the same time [default: what the image sources serve: "
    "20 VM creates per managed image, 20 x replicas per gallery region].",
)
@target_options
@output_option
@annotations_option
def command(
    paths: tuple[Path, ...],
    yes: bool,
    prune: bool,
    parallelism: int | None,
    target: str,
    subscription: str | None,
    endpoint: str | None,
    ca_file: str | None,
    output: str,
    annotations: str,
) -> ExitCode:
    """Create, change and delete what the specs (or a saved PLANFILE) say, step by step."""
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    config = target_config(target, subscription, endpoint, ca_file)
    plan_file = saved_plan_file(paths)
    # A saved plan was shown when it was made: it runs without asking.
    confirm = confirmer(yes or plan_file is not None, "apply")

    def apply(hooks: Hooks) -> RunOutcome:
        if plan_file is not None:
            request = usecases.SavedPlanRequest(plan_file, config, prune=prune, parallelism=parallelism)
            return usecases.apply_saved_plan(request, hooks)
        return usecases.apply(usecases.ApplyRequest(paths, config, prune, parallelism), hooks)

    document = output == "json"
    cloud = cloud_name(config)

    def echo(line: str) -> None:
        click.echo(line, err=document)

    def summarize(outcome: RunOutcome) -> None:
        apply_summary(outcome.plan, outcome.result, target=cloud, echo=echo)

    what = str(plan_file) if plan_file is not None else ci.described(paths)
    try:
        with ci.annotating(annotations, what=what, document_on_stdout=document):
            return run_with_progress(apply, confirm, output, summarize)
    except SpecError:
        raise  # its diagnostics are in the summary already
    except ImagepipeError as refused:  # a stale plan, a conflict: said in the summary too
        refusal_summary(what, str(refused), echo=echo)
        raise
