"""Options and error handling shared by every command.

Commands stay thin: parse options into a config object, call one function of
the layers, render the result. Errors derived from ImagepipeError become one
clear line and their exit code; anything else is an internal error whose
traceback goes to a debug log (or to stderr with --traceback).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from imagepipe.errors import ImagepipeError, SpecError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class TargetConfig:
    """Where the commands act: the embedded emulator, Azure, or any ARM endpoint."""

    target: str  # "local" or "azure"
    subscription: str | None = None
    endpoint: str | None = None
    ca_file: str | None = None
    state_dir: Path = Path(".imagepipe")


def target_options(func: F) -> F:
    options = [
        click.option(
            "--target",
            type=click.Choice(["local", "azure"]),
            default="local",
            show_default=True,
            help="local: the embedded ARM emulator (state under .imagepipe/); azure: Azure Resource Manager.",
        ),
        click.option(
            "--subscription",
            envvar="AZURE_SUBSCRIPTION_ID",
            help="Azure subscription id (default: $AZURE_SUBSCRIPTION_ID).",
        ),
        click.option(
            "--endpoint",
            envvar="IMAGEPIPE_ENDPOINT",
            help="An ARM endpoint URL, e.g. a running emulator or a sovereign cloud (default: $IMAGEPIPE_ENDPOINT).",
        ),
        click.option(
            "--ca-file",
            envvar="IMAGEPIPE_CA_FILE",
            type=click.Path(dir_okay=False),
            help="CA bundle that signs the endpoint's certificate (default: $IMAGEPIPE_CA_FILE).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def target_config(
    target: str, subscription: str | None, endpoint: str | None, ca_file: str | None
) -> TargetConfig:
    return TargetConfig(target=target, subscription=subscription, endpoint=endpoint, ca_file=ca_file)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for scripts (one JSON object; JSON lines for events).",
    )(func)


def print_diagnostics(error: SpecError) -> None:
    for diagnostic in error.diagnostics:
        click.echo(str(diagnostic), err=True)


def _debug_log(exc: BaseException) -> str:
    log_dir = Path(os.environ.get("IMAGEPIPE_DEBUG_DIR", ".imagepipe"))
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "debug.log"
    except OSError:
        path = Path(tempfile.gettempdir()) / "imagepipe-debug.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(traceback.format_exception(exc)))
    return str(path)


def handle_errors(func: F) -> F:
    """Map exceptions to one line and an exit code; never print a traceback by default."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        show_traceback = bool((ctx.find_root().params or {}).get("traceback"))
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except SpecError as exc:
            print_diagnostics(exc)
            ctx.exit(exc.exit_code)
        except ImagepipeError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # an internal error: one line, the details in a log
            if show_traceback:
                traceback.print_exc()
            else:
                where = _debug_log(exc)
                click.echo(
                    f"internal error: {type(exc).__name__}: {exc} (details in {where}; rerun with --traceback)",
                    err=True,
                )
            ctx.exit(EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
