"""`imagepipe emulator serve`: run the local ARM emulator in the foreground."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from imagepipe.emulator import DEFAULT_CLIENT_SECRET
from imagepipe.emulator.store import DB_FILE
from imagepipe.errors import ExitCode
from imagepipe.target_config import DEFAULT_STATE_DIR


@click.group(name="emulator")
def group() -> None:
    """The local ARM emulator."""


@group.command(name="serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default)."
)
@click.option(
    "--port", default=8443, show_default=True, type=click.IntRange(0, 65535), help="Port (0: a free one)."
)
@click.option(
    "--state",
    "state_file",
    default=DEFAULT_STATE_DIR,
    show_default=True,
    type=click.Path(path_type=Path),
    help=f"State folder (for {DB_FILE} in it) or SQLite state file; the CA and certificates are kept "
    "next to it. The default is the embedded emulator's (`--target local`): the same state.",
)
@click.option(
    "--speed",
    default=100.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Simulated time runs this many times faster.",
)
@click.option("--no-throttling", is_flag=True, help="Switch ARM's request throttling off.")
@click.option(
    "--client-secret",
    envvar="IMAGEPIPE_EMULATOR_SECRET",
    default=DEFAULT_CLIENT_SECRET,
    show_default="a fixed string",
    help="The service principal's secret.",
)
def serve(
    host: str, port: int, state_file: Path, speed: float, no_throttling: bool, client_secret: str
) -> ExitCode:
    """Serve the ARM emulator until Ctrl-C or SIGTERM.

    First prints `export NAME=value` lines for a shell (eval them), then serves. One process
    serves a state folder at a time: a second `serve`, or a `--target local` run, on the same
    folder is refused (the run waits $IMAGEPIPE_STATE_WAIT seconds first, 60 by default).
    """
    from imagepipe.app import usecases  # the engine loads the Azure SDK: only when a command runs

    def announce(listening: usecases.Listening) -> None:
        for name, value in listening.emulator.env().items():
            click.echo(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        click.echo(
            f"imagepipe emulator serving {listening.emulator.endpoint} (speed {speed:g}, "
            f"throttling {'off' if no_throttling else 'on'}, state {listening.state_dir}); Ctrl-C to stop",
            err=True,
        )

    request = usecases.ServeRequest(
        state_file,
        host=host,
        port=port,
        speed=speed,
        throttling=not no_throttling,
        client_secret=client_secret,
    )
    outcome = usecases.serve_emulator(request, on_listening=announce)
    if isinstance(outcome, usecases.CannotListen):
        raise click.ClickException(outcome.message)  # click's own "Error: ..." line, exit 1
    return ExitCode.SUCCESS
