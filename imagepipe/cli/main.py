"""The ``imagepipe`` command group; each command lives in a module of its own."""

from __future__ import annotations

import click

from imagepipe import __version__
from imagepipe.cli import apply, destroy, emulator, graph, plan, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="imagepipe")
@click.option("--traceback", is_flag=True, hidden=True, help="Show the traceback of internal errors.")
def cli(traceback: bool) -> None:
    """Capture Azure VM images and fan them out, from YAML specs in git.

    \b
    Typical flow:
      imagepipe validate specs/web          # check the specs, every error at once
      imagepipe plan specs/web              # what would change (runs on pull requests)
      imagepipe apply specs/web --yes       # make it so (runs in CI on merge)
      imagepipe destroy specs/web --yes     # delete what the stack owns

    Without --target azure everything runs against the embedded ARM emulator.
    """


for command in (
    validate.command,
    graph.command,
    plan.command,
    apply.command,
    destroy.command,
    emulator.group,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="imagepipe")


if __name__ == "__main__":
    main()
