"""What a command adds when it runs in CI: annotations on the spec's lines, and the job summary.

Annotation lines go to stdout (where the services read commands) unless stdout carries a
document (``-o json``, ``-o markdown``); then to stderr, which both runners read too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import click

from imagepipe.errors import Diagnostic, Location, SpecError, warning
from imagepipe.render.annotations import annotation_lines, detect
from imagepipe.render.step_summary import diagnostics_summary

# A link to the run, made from the runner's variables only when they look like one.
_SAFE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?(/[A-Za-z0-9._~/-]*)?$")


def annotate(diagnostics: Iterable[Diagnostic], mode: str, *, document_on_stdout: bool) -> None:
    for line in annotation_lines(list(diagnostics), detect(mode)):
        click.echo(line, err=document_on_stdout)


def report_diagnostics(
    what: str, diagnostics: Sequence[Diagnostic], mode: str, *, document_on_stdout: bool
) -> None:
    """Annotations (10 of each kind on GitHub) and every diagnostic in the job summary."""
    annotate(diagnostics, mode, document_on_stdout=document_on_stdout)
    diagnostics_summary(what, diagnostics, echo=lambda line: click.echo(line, err=document_on_stdout))


@contextmanager
def annotating(mode: str, *, what: str, document_on_stdout: bool) -> Iterator[None]:
    """Report the diagnostics of invalid specs in CI before they reach ``cli/main.py``."""
    try:
        yield
    except SpecError as error:
        report_diagnostics(what, error.diagnostics, mode, document_on_stdout=document_on_stdout)
        raise


def described(paths: Sequence[object]) -> str:
    """The paths a command was given, as a summary names them."""
    return " ".join(str(p) for p in paths) or "."


def plan_diagnostics(plan: object) -> list[Diagnostic]:
    """The spec set's warnings a plan carries (``Diagnostic.to_json`` dicts), as diagnostics."""
    found: list[Diagnostic] = []
    for item in getattr(plan, "warnings", None) or []:
        if isinstance(item, Diagnostic):
            found.append(item)
        elif isinstance(item, dict) and item.get("message"):
            where = (
                Location(str(item["file"]), int(item.get("line", 1)), int(item.get("col", 1)))
                if item.get("file")
                else None
            )
            found.append(warning(str(item["message"]), where, item.get("address")))
    return found


def run_url() -> str | None:
    """The CI run's page, for 'the full plan is in ...' (GitHub Actions or Azure DevOps)."""
    env = os.environ
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    elif env.get("SYSTEM_COLLECTIONURI") and env.get("SYSTEM_TEAMPROJECT") and env.get("BUILD_BUILDID"):
        base = env["SYSTEM_COLLECTIONURI"].rstrip("/")
        url = f"{base}/{env['SYSTEM_TEAMPROJECT']}/_build/results?buildId={env['BUILD_BUILDID']}"
        return url if _SAFE_URL.match(url.split("?", 1)[0]) and env["BUILD_BUILDID"].isdigit() else None
    else:
        return None
    return url if _SAFE_URL.match(url) else None


def full_plan_at() -> str:
    """Markdown saying where the whole plan is when a comment had to be truncated."""
    url = run_url()
    if url is None:
        return "the job summary of this run and the saved plan artifact"
    return f"the [job summary of this run]({url}) and the saved plan artifact"
