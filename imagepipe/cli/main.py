"""The ``imagepipe`` command group, and the one place errors become messages and exit codes.

Each command lives in a module of its own and returns an ExitCode. Errors
derived from ImagepipeError become one clear line and their exit code; anything
else is an internal error whose traceback goes to a debug log (or to stderr
with --traceback).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from imagepipe import __version__
from imagepipe.cli import apply, destroy, emulator, graph, output, plan, show, unlock, validate
from imagepipe.errors import ExitCode, ImagepipeError, SpecError
from imagepipe.render.console import disable_color
from imagepipe.render.diagnostics import diagnostic_text
from imagepipe.render.safe import printable


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="imagepipe")
@click.option("--traceback", is_flag=True, hidden=True, help="Show the traceback of internal errors.")
@click.option("--no-color", is_flag=True, help="No colours in any output (also: the NO_COLOR variable).")
def cli(traceback: bool, no_color: bool) -> None:
    """Capture Azure VM images and fan them out, from YAML specs in git.

    \b
    Typical flow:
      imagepipe validate specs/web          # check the specs, every error at once
      imagepipe plan specs/web              # what would change (runs on pull requests)
      imagepipe apply specs/web --yes       # make it so (runs in CI on merge)
      imagepipe destroy specs/web --yes     # delete what the stack owns

    Without --target azure everything runs against the embedded ARM emulator.

    \b
    Exit codes (as Terraform):
      0  success
      1  any error: invalid specs, a failed step, bad usage, a cancelled prompt
      2  only with `plan --detailed-exitcode`: changes are pending
    """
    if no_color:
        disable_color()


for command in (
    validate.command,
    graph.command,
    plan.command,
    apply.command,
    show.command,
    output.command,
    destroy.command,
    unlock.command,
    emulator.group,
):
    cli.add_command(command)


def _debug_log(exc: BaseException) -> str:
    """Append the traceback to the debug log; say where it went (or why it went nowhere)."""
    log_dir = Path(os.environ.get("IMAGEPIPE_DEBUG_DIR", ".imagepipe"))
    if log_dir.is_symlink():
        return f"no debug log written: {log_dir} is a symbolic link, and imagepipe never writes through one"
    try:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = log_dir / "debug.log"
    except OSError:
        path = Path(tempfile.gettempdir()) / "imagepipe-debug.log"
    try:
        # O_NOFOLLOW: a committed `.imagepipe/debug.log` link must not make us append to its target.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"no debug log written: {path} is a symbolic link, and imagepipe never writes through one"
        return f"no debug log written: {path}: {error.strerror or error}"
    try:
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
    except OSError as error:  # a full disk: the one-line message still goes out
        return f"no debug log written: {path}: {error.strerror or error}"
    return f"details in {path}"


def _internal_error(exc: Exception, show_traceback: bool) -> ExitCode:
    if show_traceback:
        traceback.print_exception(exc)
    else:
        where = _debug_log(exc)
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} ({where}; rerun with --traceback)",
            err=True,
        )
    return ExitCode.FAILURE


def run(args: Sequence[str] | None = None) -> int:
    """Run one command line and return its exit code; never a traceback unless --traceback."""
    ctx: click.Context | None = None
    try:
        with cli.make_context("imagepipe", list(sys.argv[1:] if args is None else args)) as ctx:
            code = cli.invoke(ctx)
        return ExitCode.SUCCESS if code is None else int(code)
    except click.exceptions.Exit as stop:  # --help, --version
        return stop.exit_code
    except click.ClickException as exc:  # usage errors found by click: its own wording
        exc.show()
        return ExitCode.FAILURE  # not click's 2: with --detailed-exitcode, 2 means "changes pending"
    except click.exceptions.Abort:  # Ctrl-C or end of input at a confirmation prompt
        click.echo("Aborted!", err=True)
        return ExitCode.FAILURE
    except SpecError as exc:
        for diagnostic in exc.diagnostics:
            click.echo(diagnostic_text(diagnostic), err=True)
        return exc.exit_code
    except ImagepipeError as exc:
        click.echo(f"error: {printable(exc)}", err=True)  # it may quote Azure: names, tags, messages
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # an internal error: one line, the details in a log
        show_traceback = bool(ctx is not None and ctx.params.get("traceback"))
        return _internal_error(exc, show_traceback)


def main() -> None:
    exit_now(run())


def exit_now(code: int) -> None:
    """Exit once the output is written and the exit handlers have run, without the interpreter's
    teardown: freeing the Azure SDK's thousands of model classes takes about a second, which a
    pipeline waits for after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said
            stream.flush()
    atexit._run_exitfuncs()  # logging's flush and any library's handlers, as a normal exit
    os._exit(code)


if __name__ == "__main__":
    main()
