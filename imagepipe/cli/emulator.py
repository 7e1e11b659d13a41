"""`imagepipe emulator serve`: run the local ARM emulator in the foreground."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from imagepipe.emulator import DEFAULT_CLIENT_SECRET
from imagepipe.emulator.server import Emulator
from imagepipe.emulator.store import DB_FILE


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
    default=f".imagepipe/emulator/{DB_FILE}",
    show_default=True,
    type=click.Path(path_type=Path),
    help=f"SQLite state file (or a folder, for {DB_FILE} in it); the CA and certificates are kept next to it.",
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
) -> None:
    """Serve the ARM emulator until Ctrl-C or SIGTERM.

    First prints `export NAME=value` lines for a shell (eval them), then serves.
    """
    # Absolute, so the printed CA path still works after `cd` in the shell that evals it.
    state_file = state_file.expanduser().resolve()
    is_file = bool(state_file.suffix) and not state_file.is_dir()
    state_dir = state_file.parent if is_file else state_file
    try:
        emulator = Emulator(
            state_dir,
            db_name=state_file.name if is_file else DB_FILE,
            speed=speed,
            throttling=not no_throttling,
            host=host,
            port=port,
            client_secret=client_secret,
        )
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    for name, value in emulator.env().items():
        click.echo(f"export {name}={shlex.quote(value)}")
    sys.stdout.flush()
    click.echo(
        f"imagepipe emulator serving {emulator.endpoint} (speed {speed:g}, throttling {'off' if no_throttling else 'on'}, "
        f"state {state_dir}); Ctrl-C to stop",
        err=True,
    )
    emulator.serve_forever()
