"""`imagepipe destroy`: delete every resource the stack owns (by its tag), in reverse order."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli.apply import confirmer, report
from imagepipe.cli.common import handle_errors, output_option, target_config, target_options
from imagepipe.plan.model import Plan
from imagepipe.render.console import console, progress_for, show_plan


@click.command(name="destroy")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 200),
    default=10,
    show_default=True,
    help="Deletions run at the same time.",
)
@target_options
@output_option
@handle_errors
def command(
    paths: tuple[Path, ...],
    yes: bool,
    parallelism: int,
    target: str,
    subscription: str | None,
    endpoint: str | None,
    ca_file: str | None,
    output: str,
) -> None:
    """Delete what the stack owns; never an untagged resource or an `existing: true` source."""
    # The engine loads the Azure SDK: only when the command runs, so --help and other commands stay quick.
    from imagepipe.apply.run import destroy
    from imagepipe.apply.session import open_session

    config = target_config(target, subscription, endpoint, ca_file)
    confirm = confirmer(yes, "destroy")
    out = console()
    progress = progress_for(output, out)
    with open_session(list(paths) or [Path(".")], config) as session:

        def confirm_after_showing(plan: Plan) -> bool:
            show_plan(plan, output, out)
            return confirm(plan)

        try:
            outcome = destroy(
                session,
                parallelism=parallelism,
                confirm=confirm_after_showing,
                on_event=progress,
                on_start=progress.start,
            )
        finally:
            progress.stop()
    report(outcome, output)
