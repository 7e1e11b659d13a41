"""`imagepipe apply`: reconcile the target with the specs (or execute a saved plan)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imagepipe.cli import ci
from imagepipe.cli.common import (
    LOCK_TIMEOUT_HELP,
    annotations_option,
    cloud_name,
    is_interactive,
    lock_timeout_option,
    output_option,
    target_config,
    target_options,
)
from imagepipe.errors import ExitCode, ImagepipeError, SpecError, UsageError, error
from imagepipe.plan.model import Change, Plan, looks_like_plan_file
from imagepipe.render.console import console, progress_for, show_plan
from imagepipe.render.progress import estimate_fields, summary_counts, summary_table
from imagepipe.render.safe import printable
from imagepipe.render.step_summary import apply_summary, refusal_summary

if TYPE_CHECKING:
    from imagepipe.app.run import RunOutcome
    from imagepipe.app.usecases import Hooks


Confirm = Callable[[Plan, list[Change]], bool]
SHOWN_IRREVERSIBLE = 10


def confirmer(yes: bool, verb: str) -> Confirm:
    """Ask on a terminal unless --yes; without a terminal, --yes is required (exit 1).

    A plan with an irreversible change (a deletion, a replacement, a generalize) is approved only
    by `yes` typed in full, as Terraform asks; any other plan by y/N."""
    if not yes and not is_interactive():
        raise UsageError(f"{verb} needs confirmation: pass --yes when not running on a terminal")

    def confirm(plan: Plan, irreversible: list[Change]) -> bool:
        if yes:
            return True
        if not irreversible:
            return click.confirm(f"Do you want to {verb} these changes?", default=False)
        click.echo(f"These {len(irreversible)} changes cannot be undone:")
        for change in irreversible[:SHOWN_IRREVERSIBLE]:
            click.echo(f"  {printable(change.address)}: {printable(change.reason)}")
        if len(irreversible) > SHOWN_IRREVERSIBLE:
            click.echo(f"  ... and {len(irreversible) - SHOWN_IRREVERSIBLE} more (listed in the plan above)")
        answer = click.prompt(
            f"Do you want to {verb} these changes? Only 'yes' will be accepted",
            default="",
            show_default=False,
        )
        return answer.strip() == "yes"

    return confirm


def saved_plan_file(paths: tuple[Path, ...]) -> Path | None:
    """A single file argument whose content is a plan saved by `plan --out` (whatever its name)."""
    if len(paths) != 1 or not looks_like_plan_file(paths[0]):
        return None
    return paths[0]


def report(outcome: RunOutcome, output: str) -> ExitCode:
    out = console()
    if outcome.result is None:
        cancelled = not outcome.confirmed
        if output == "json":
            summary = {"event": "summary", "changes": outcome.plan.has_changes, "applied": False}
            click.echo(json.dumps(summary | ({"cancelled": True} if cancelled else {})))
        elif not cancelled:
            click.echo("No changes. The infrastructure matches the specs.")
        if cancelled:  # as Terraform: a declined prompt is not a success
            click.echo("Cancelled: nothing was changed.", err=True)
            return ExitCode.FAILURE
        return ExitCode.SUCCESS
    result = outcome.result
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "event": "summary",
                    **summary_counts(result),
                    **estimate_fields(result, outcome.plan.estimate),
                    "failures": [f.__dict__ for f in result.failures],
                }
            )
        )
    else:
        out.print()
        summary_table(result, out, outcome.plan.estimate)
    for failure in result.failures:
        click.echo(f"error: {printable(failure.address)}: {printable(failure.message)}", err=True)
    return ExitCode.SUCCESS if result.ok else ExitCode.FAILURE


def run_with_progress(
    use_case: Callable[[Hooks], RunOutcome],
    confirm: Confirm,
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
        notice=lambda message: click.echo(printable(message), err=True),
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
@lock_timeout_option(LOCK_TIMEOUT_HELP)
@target_options
@output_option
@annotations_option
def command(
    paths: tuple[Path, ...],
    yes: bool,
    prune: bool,
    parallelism: int | None,
    lock_timeout: float | None,
    target: str,
    subscription: str | None,
    endpoint: str | None,
    ca_file: str | None,
    output: str,
    annotations: str,
) -> ExitCode:
    """Create, change and delete what the specs (or a saved PLANFILE) say, step by step.

    PATHS are spec folders or files, or one plan file saved by `plan --out` (any name). Asks for
    confirmation on a terminal (y/N; `yes` typed in full when the plan deletes, replaces or
    generalizes anything); --yes skips it, and is required without a terminal. A saved plan runs
    without asking. Exit 0 on success, 1 on any error or a declined prompt.
    """
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    config = target_config(target, subscription, endpoint, ca_file)
    plan_file = saved_plan_file(paths)
    # A saved plan was shown when it was made: it runs without asking.
    confirm = confirmer(yes or plan_file is not None, "apply")

    def apply(hooks: Hooks) -> RunOutcome:
        if plan_file is not None:
            request = usecases.SavedPlanRequest(
                plan_file, config, prune=prune, parallelism=parallelism, lock_timeout=lock_timeout or 0.0
            )
            return usecases.apply_saved_plan(request, hooks)
        request = usecases.ApplyRequest(paths, config, prune, parallelism, lock_timeout=lock_timeout or 0.0)
        return usecases.apply(request, hooks)

    document = output == "json"
    cloud = cloud_name(config)

    def echo(line: str) -> None:
        click.echo(line, err=document)

    def summarize(outcome: RunOutcome) -> None:
        apply_summary(outcome.plan, outcome.result, target=cloud, echo=echo)
        # In CI the spec set's warnings and each failed step are annotations too (the failures
        # have no spec line: the step's address names them).
        failed = [
            error(printable(f"{f.address}: {f.message}"), None, f.address)
            for f in (outcome.result.failures if outcome.result is not None else [])
        ]
        ci.annotate([*ci.plan_diagnostics(outcome.plan), *failed], annotations, document_on_stdout=document)

    what = str(plan_file) if plan_file is not None else ci.described(paths)
    try:
        with ci.annotating(annotations, what=what, document_on_stdout=document):
            return run_with_progress(apply, confirm, output, summarize)
    except SpecError:
        raise  # its diagnostics are in the summary already
    except ImagepipeError as refused:  # a stale plan, a conflict: said in the summary too
        refusal_summary(what, str(refused), echo=echo)
        raise
