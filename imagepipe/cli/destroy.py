"""`imagepipe destroy`: delete every resource the stack owns (by its tag), in reverse order."""

from __future__ import annotations

from pathlib import Path

import click

from imagepipe.cli.apply import confirmer, run_with_progress
from imagepipe.cli.common import (
    LOCK_TIMEOUT_HELP,
    lock_timeout_option,
    output_option,
    target_config,
    target_options,
)
from imagepipe.errors import ExitCode


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
@lock_timeout_option(LOCK_TIMEOUT_HELP)
@target_options
@output_option
def command(
    paths: tuple[Path, ...],
    yes: bool,
    parallelism: int,
    lock_timeout: float | None,
    target: str,
    subscription: str | None,
    endpoint: str | None,
    ca_file: str | None,
    output: str,
) -> ExitCode:
    """Delete what the stack owns; never an untagged resource or an `existing: true` source.

    Asks for `yes` typed in full on a terminal; --yes skips it. When it ends, the stack's lease
    is deleted, and the lock group `imagepipe-locks` too when no other stack's lock remains in it.
    """
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    config = target_config(target, subscription, endpoint, ca_file)
    request = usecases.DestroyRequest(paths, config, parallelism, lock_timeout=lock_timeout or 0.0)
    return run_with_progress(
        lambda hooks: usecases.destroy(request, hooks), confirmer(yes, "destroy"), output
    )
