"""Consoles and progress sinks for plan, apply and destroy."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from imagepipe.plan.model import Plan
from imagepipe.render.plan import plan_text
from imagepipe.render.progress import JsonProgress, PlainProgress, RichProgress

_color = True  # --no-color turns it off for the whole run (rich also honours NO_COLOR)


def disable_color() -> None:
    global _color
    _color = False


def console() -> Console:
    return Console(highlight=False, soft_wrap=True, no_color=not _color)


def progress_for(output: str, out: Console) -> Any:
    """JSON lines with -o json, a live view on a terminal, plain timestamped lines otherwise."""
    if output == "json":
        return JsonProgress(sys.stdout)
    if out.is_terminal:
        return RichProgress(out)
    return PlainProgress(sys.stdout)


def show_plan(plan: Plan, output: str, out: Console) -> None:
    if output != "json":
        plan_text(plan, out)
        out.print()
