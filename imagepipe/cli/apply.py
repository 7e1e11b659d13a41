"""`imagepipe apply`: reconcile the target with the specs (or execute a saved plan)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imagepipe.cli.common import (
    EXIT_FAILURE,
    handle_errors,
    is_interactive,
    output_option,
    target_config,
    target_options,
)
from imagepipe.errors import ImagepipeError, UsageError
from imagepipe.plan.model import Plan
from imagepipe.render.console import console, progress_for, show_plan
from imagepipe.render.progress import summary_counts, summary_table

if TYPE_CHECKING:
    from imagepipe.apply.run import RunOutcome


def confirmer(yes: bool, verb: str) -> Callable[[Plan], bool]:
    """Ask on a TTY unless --yes; without a TTY, --yes is required (exit 2)."""
    if not yes and not is_interactive():
        raise UsageError(f"{verb} needs confirmation: pass --yes when not running on a terminal")

    def confirm(plan: Plan) -> bool:
        return yes or click.confirm(f"Do you want to {verb} these changes?", default=False)

    return confirm


def saved_plan(paths: tuple[Path, ...]) -> Plan | None:
    """A single .json file argument is a plan saved by `plan --out`."""
    if len(paths) != 1 or not paths[0].is_file() or paths[0].suffix.lower() != ".json":
        return None
    try:
        return Plan.from_json(json.loads(paths[0].read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImagepipeError(f"{paths[0]}: not a plan file saved by `imagepipe plan --out`: {exc}") from None


def report(outcome: RunOutcome, output: str) -> None:
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
        return
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
        click.echo(f"error: {failure.address}: {failure.message}", err=True)
    if not result.ok:
        click.get_current_context().exit(EXIT_FAILURE)


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
@handle_errors
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
) -> None:
    """Create, change and delete what the specs (or a saved PLANFILE) say, step by step."""
    # The engine loads the Azure SDK: only when the command runs, so --help and other commands stay quick.
    from imagepipe.apply.run import apply_saved_plan, apply_specs
    from imagepipe.apply.session import open_session
    from imagepipe.plan.planner import make_plan

    config = target_config(target, subscription, endpoint, ca_file)
    saved = saved_plan(paths)
    if saved is not None and prune:
        raise UsageError("--prune comes from the saved plan: make it with `plan --prune --out FILE`")
    confirm = confirmer(yes or saved is not None, "apply")
    spec_paths = [Path(p) for p in saved.paths] if saved is not None else (list(paths) or [Path(".")])
    out = console()
    progress = progress_for(output, out)
    with open_session(spec_paths, config) as session:
        if saved is not None:
            run = lambda: apply_saved_plan(  # noqa: E731
                saved, session, parallelism=parallelism, on_event=progress, on_start=progress.start
            )
        else:
            planned = make_plan(
                session.specset, session.graph, session.azure, paths=session.paths, prune=prune
            )
            show_plan(planned.plan, output, out)
            run = lambda: apply_specs(  # noqa: E731
                session,
                parallelism=parallelism,
                confirm=confirm,
                on_event=progress,
                on_start=progress.start,
                planned=planned,
            )
        try:
            outcome = run()
        finally:
            progress.stop()
    report(outcome, output)
