"""`imagepipe unlock STACK`: release a stack's lock whose run is gone (Terraform's force-unlock)."""

from __future__ import annotations

import click

from imagepipe.cli.common import is_interactive, target_config, target_options
from imagepipe.errors import ExitCode, UsageError
from imagepipe.render.safe import printable


@click.command(name="unlock")
@click.argument("stack")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (required without a terminal).")
@target_options
def command(
    stack: str, yes: bool, target: str, subscription: str | None, endpoint: str | None, ca_file: str | None
) -> ExitCode:
    """Release the lock of STACK, held by a run that is known to be gone.

    The lock is a lease (a small virtual network's tags) in the resource group `imagepipe-locks`.
    A run killed on another machine keeps it until it expires (5 minutes after its last renewal);
    this releases it at once. Names the holder and asks for `yes` first, unless --yes.
    Releasing the lock of a run that still works lets a second run change the stack with it.
    """
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    if not yes and not is_interactive():
        raise UsageError("unlock needs confirmation: pass --yes when not running on a terminal")

    def confirm(holder: str) -> bool:
        click.echo(f"Stack {printable(stack)} is locked by {printable(holder)}.")
        if yes:
            return True
        answer = click.prompt(
            "Do you want to release this lock? Only 'yes' will be accepted", default="", show_default=False
        )
        return answer.strip() == "yes"

    config = target_config(target, subscription, endpoint, ca_file)
    outcome = usecases.unlock(usecases.UnlockRequest(stack, config), confirm)
    if not outcome.released:
        click.echo("Cancelled: the lock was not released.", err=True)
        return ExitCode.FAILURE
    click.echo(f"Released the lock of stack {printable(stack)}.")
    return ExitCode.SUCCESS
