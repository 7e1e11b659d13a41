"""Options shared by every command.

Commands stay thin: parse options into a request, call one use case of
``imagepipe/app/usecases.py``, render its outcome and return an ExitCode.
Errors are mapped to messages and exit codes once, in ``cli/main.py``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from imagepipe.target_config import TargetConfig

F = TypeVar("F", bound=Callable[..., Any])


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
    context = click.get_current_context(silent=True)
    defaulted = context is not None and context.get_parameter_source("target") in (
        click.core.ParameterSource.DEFAULT,
        None,
    )
    chosen = not defaulted or bool(endpoint)
    return TargetConfig(
        target=target, subscription=subscription, endpoint=endpoint, ca_file=ca_file, chosen=chosen
    )


def output_choices(*choices: str) -> Callable[[F], F]:
    """``-o/--output`` with these choices (text first, the default)."""
    helps = {
        "text": "text for people",
        "json": "json for scripts (one JSON object; JSON lines for events)",
        "markdown": "markdown for a pull-request comment",
        "table": "table: one row per change",
    }

    def decorate(func: F) -> F:
        return click.option(
            "-o",
            "--output",
            type=click.Choice(list(choices)),
            default=choices[0],
            show_default=True,
            help=", ".join(helps[c] for c in choices) + ".",
        )(func)

    return decorate


output_option = output_choices("text", "json")


def annotations_option(func: F) -> F:
    return click.option(
        "--annotations",
        type=click.Choice(["auto", "github", "azure-devops", "none"]),
        default="auto",
        show_default=True,
        envvar="IMAGEPIPE_ANNOTATIONS",
        help="Also print diagnostics as CI annotations on the spec's line; auto: GitHub Actions when "
        "GITHUB_ACTIONS=true, Azure DevOps when TF_BUILD=True.",
    )(func)


def cloud_name(config: TargetConfig) -> str:
    """Where a plan was made, as a plan's reader wants it named."""
    if config.target == "local":
        return "local emulator"
    if config.endpoint:
        return f"ARM endpoint {config.endpoint}"
    return "Azure"


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


class Duration(click.ParamType):
    """A duration as Terraform writes it: 30s, 5m, 1h30m (a bare number is seconds)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return float(text)
        if text and _PART.sub("", text) == "":
            return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))
        self.fail(f"{value!r} is not a duration: write e.g. 30s, 5m or 1h30m", param, ctx)


def lock_timeout_option(help_text: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option("--lock-timeout", type=Duration(), metavar="DURATION", help=help_text)(func)

    return decorate


LOCK_TIMEOUT_HELP = (
    "Wait up to DURATION (30s, 5m, 1h30m) while another run holds the stack's lock "
    "[default: 0s, refuse at once]."
)
