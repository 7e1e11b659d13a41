"""The live view after a failure: bars fill only with what was done, every ended step keeps its
line, the error is printed once (by the final report), and the summary counts the skipped."""

from __future__ import annotations

import io

from rich.console import Console

from imagepipe.apply.events import Event
from imagepipe.apply.executor import ApplyResult, StepOutcome
from imagepipe.render.progress import RichProgress, summary_table

SECRET_LOOKING_ERROR = "OperationNotAllowed: the image cannot be made"


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=200, color_system=None), out


def test_a_failed_run_keeps_every_step_line_and_fills_bars_only_with_done_steps() -> None:
    console, out = terminal()
    view = RichProgress(console)
    view.start({"capture": 3})
    view(Event("start", "Capture/c/generalize", "capture", "action", "generalize VM v"))
    view(Event("done", "Capture/c/generalize", "capture", "action", "finished"))
    view(Event("start", "Capture/c/image", "capture", "create", "image i does not exist"))
    view(Event("failed", "Capture/c/image", "capture", "create", SECRET_LOOKING_ERROR))
    view(Event("skipped", "Capture/c/cleanup", "capture", "action", "Capture/c/image failed"))
    view.stop()
    text = out.getvalue()

    assert "✓ Capture/c/generalize: finished" in text
    assert "! Capture/c/image: FAILED" in text
    assert "- Capture/c/cleanup: skipped (Capture/c/image failed)" in text
    assert SECRET_LOOKING_ERROR not in text  # the final report prints it, once
    assert "capture (1 failed, 1 skipped)" in text and "1/3" in text
    assert "3/3" not in text  # before, the bar was full though two steps did not happen


def test_the_summary_counts_replaced_and_skipped_steps() -> None:
    console, out = terminal()
    result = ApplyResult(
        outcomes={
            "a": StepOutcome("a", "done", "replace"),
            "b": StepOutcome("b", "failed", "create"),
            "c": StepOutcome("c", "skipped", "create"),
            "d": StepOutcome("d", "done", "create"),
        }
    )
    summary_table(result, console)
    header, row = [line for line in out.getvalue().splitlines() if "│" in line or "┃" in line][:2]
    cells = dict(
        zip(
            [c.strip() for c in header.strip("┃").split("┃")],
            [c.strip() for c in row.strip("│").split("│")],
            strict=True,
        )
    )
    assert cells["created"] == "1" and cells["replaced"] == "1" and cells["changed"] == "0"
    assert cells["failed"] == "1" and cells["skipped"] == "1"


def test_the_live_view_and_the_summary_say_which_wave_runs_and_how_far_each_rollout_went() -> None:
    console, out = terminal()
    view = RichProgress(console)
    view.start({"Deployment": 4})
    view(
        Event(
            "wave",
            "Deployment/web",
            "Deployment",
            message="wave 2 of 2 (vm[2], vm[3]): pausing 5 min before it",
        )
    )
    assert "Deployment/web: rolling, wave 2 of 2 (vm[2], vm[3]): pausing 5 min before it" in str(
        view._render().renderables[1]
    )  # shown while the wave runs, not only once
    view.stop()
    assert "= Deployment/web: rolling, wave 2 of 2 (vm[2], vm[3]): pausing 5 min before it" in out.getvalue()

    result = ApplyResult(rollouts=[("Deployment/web", "stopped: wave 1 of 2 failed (vm[0])")])
    summary_table(result, console)
    assert "Rollout of Deployment/web: stopped: wave 1 of 2 failed (vm[0])" in out.getvalue()
