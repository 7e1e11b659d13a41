"""Job summaries: the plan, or the outcome of an apply, as Markdown on the run's page.

GitHub Actions: appended to the file ``$GITHUB_STEP_SUMMARY`` names (at most 1 MiB per step,
so what the step wrote before counts). Azure DevOps (``TF_BUILD=True``): written to a file
of its own under ``$AGENT_TEMPDIRECTORY`` and uploaded with ``##vso[task.uploadsummary]``.
Elsewhere nothing is written.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagepipe.apply.executor import ApplyResult, StepOutcome
from imagepipe.errors import Diagnostic
from imagepipe.plan.model import Plan
from imagepipe.render.diagnostics import diagnostic_text
from imagepipe.render.estimate import estimate_text, plan_estimate_seconds
from imagepipe.render.markdown import (
    SUMMARY_LIMIT,
    code_line,
    code_span,
    html_text,
    md_text,
    render_plan_markdown,
)

Echo = Callable[[str], None]


@dataclass(frozen=True)
class SummaryFile:
    """Where this run's job summary goes, and how the service learns of it."""

    path: Path
    upload: bool  # Azure DevOps: print ##vso[task.uploadsummary] after writing

    def room(self) -> int:
        """Bytes left of the step's 1 MiB (GitHub counts what the step wrote before)."""
        try:
            used = self.path.stat().st_size if not self.upload else 0
        except OSError:
            used = 0
        return max(SUMMARY_LIMIT - used, 0)


def summary_file(stack: str, env: Mapping[str, str] | None = None) -> SummaryFile | None:
    env = os.environ if env is None else env
    if env.get("GITHUB_STEP_SUMMARY"):
        return SummaryFile(Path(env["GITHUB_STEP_SUMMARY"]), upload=False)
    if env.get("TF_BUILD", "").lower() == "true":
        folder = Path(env.get("AGENT_TEMPDIRECTORY") or tempfile.gettempdir())
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stack)[:64]
        return SummaryFile(folder / f"imagepipe-{safe}-{os.getpid()}.md", upload=True)
    return None


def write_summary(target: SummaryFile, markdown: str, echo: Echo) -> None:
    """Append ``markdown``; on Azure DevOps, tell the agent to upload the file."""
    with open(target.path, "a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    if target.upload:
        # The agent wants an absolute path; the path has no ']' or newline (made above).
        echo(f"##vso[task.uploadsummary]{target.path.resolve()}")


def plan_summary(
    plan: Plan,
    env: Mapping[str, str] | None = None,
    *,
    target: str | None,
    echo: Echo,
) -> None:
    """The plan as the job summary, when running in CI."""
    where = summary_file(plan.stack, env)
    if where is not None:
        markdown = render_plan_markdown(
            plan, target=target, full_plan_at="the saved plan file", limit=where.room() or 1
        )
        write_summary(where, markdown, echo)


# -- apply ---------------------------------------------------------------------------------

_COLUMNS = ("created", "changed", "deleted", "actions", "failed", "skipped")
_DONE = {"create": "created", "update": "changed", "replace": "changed", "delete": "deleted"}


def _document_of(plan: Plan, address: str) -> str:
    change = plan.change(address)
    if change is not None and change.document:
        return change.document
    parts = address.split("/")
    return "/".join(parts[:3] if parts[0] == "VirtualNetwork" else parts[:2])


def _bucket(outcome: StepOutcome) -> str | None:
    if outcome.status == "done":
        return _DONE.get(outcome.action, "actions")
    return outcome.status if outcome.status in ("failed", "skipped") else None


def duration_text(seconds: float) -> str:
    return estimate_text(seconds).removeprefix("about ")


def render_apply_markdown(plan: Plan, result: ApplyResult | None, *, target: str | None = None) -> str:
    """The outcome of an apply: per document, failures with their cause, time against estimate."""
    lines = [
        f"<!-- imagepipe:apply stack={code_line(plan.stack).replace('-->', '')} -->",
        f"### imagepipe apply: stack {code_span(plan.stack)}",
        "",
    ]
    if target:
        lines += [
            f"**Target:** {md_text(target)}"
            + (f", subscription {code_span(plan.subscription)}" if plan.subscription else ""),
            "",
        ]
    if result is None:
        return "\n".join([*lines, "**No changes.** The infrastructure matches the specs."]) + "\n"
    counts = result.counts()
    figures = ", ".join(f"{counts[c]} {c}" for c in _COLUMNS if c != "skipped")
    verdict = "Applied" if result.ok else "Failed"
    timing = f"in {duration_text(result.duration)}"
    estimate = plan_estimate_seconds(plan)
    if estimate is not None:
        timing += f" (estimated {estimate_text(estimate)})"
    lines += [f"**{verdict}: {figures}** {timing}.", ""]
    if result.failures:
        lines += ["#### Failures", "", "```diff"]
        lines += [f"! {code_line(f.address)}: {code_line(f.message)}" for f in result.failures]
        lines += ["```", ""]
    per_document: OrderedDict[str, Counter[str]] = OrderedDict()
    for address, outcome in result.outcomes.items():
        bucket = _bucket(outcome)
        if bucket is not None:
            per_document.setdefault(_document_of(plan, address), Counter())[bucket] += 1
    if per_document:
        lines += ["| document | " + " | ".join(_COLUMNS) + " |", "|---|" + "---:|" * len(_COLUMNS)]
        for document, tally in per_document.items():
            cells = " | ".join(str(tally[c]) for c in _COLUMNS)
            lines.append(f"| {html_text(document).replace('|', '&#124;')} | {cells} |")
    text = "\n".join(lines) + "\n"
    return text if len(text.encode()) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT // 2] + "\n\n(truncated)\n"


def apply_summary(
    plan: Plan,
    result: ApplyResult | None,
    env: Mapping[str, str] | None = None,
    *,
    target: str | None,
    echo: Echo,
) -> None:
    """The outcome of an apply as the job summary, when running in CI."""
    where = summary_file(plan.stack, env)
    if where is not None:
        write_summary(where, render_apply_markdown(plan, result, target=target), echo)


def render_refusal_markdown(what: str, message: str) -> str:
    """An apply that stopped before changing anything (a stale plan, a conflict, bad specs)."""
    return (
        "\n".join(
            [
                f"### imagepipe apply: {code_span(what)}",
                "",
                f"**Refused:** {md_text(message)}",
                "",
                "Nothing was changed.",
            ]
        )
        + "\n"
    )


def refusal_summary(what: str, message: str, env: Mapping[str, str] | None = None, *, echo: Echo) -> None:
    where = summary_file(what, env)
    if where is not None:
        write_summary(where, render_refusal_markdown(what, message), echo)


def render_diagnostics_markdown(what: str, diagnostics: Sequence[Diagnostic]) -> str:
    """Every diagnostic of invalid specs (annotations show only 10 of each kind)."""
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    verdict = "Invalid specs" if errors else "Specs valid, with warnings"
    lines = [
        f"### imagepipe: {code_span(what)}",
        "",
        f"**{verdict}:** {errors} errors, {warnings} warnings.",
        "",
        "```",
        *(code_line(line) for d in diagnostics for line in diagnostic_text(d).splitlines()),
        "```",
    ]
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > SUMMARY_LIMIT // 2:  # a million diagnostics would not help anyone
        text = text[: SUMMARY_LIMIT // 4] + "\n```\n\n(truncated: the log has every diagnostic)\n"
    return text


def diagnostics_summary(
    what: str, diagnostics: Sequence[Diagnostic], env: Mapping[str, str] | None = None, *, echo: Echo
) -> None:
    where = summary_file(what, env)
    if where is not None and diagnostics:
        write_summary(where, render_diagnostics_markdown(what, diagnostics), echo)
