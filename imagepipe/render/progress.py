"""Apply progress: a rich live view on a TTY, plain timestamped lines otherwise,
JSON lines with ``-o json``; and the final summary."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from imagepipe.apply.events import Event
from imagepipe.plan.estimate import Estimate, duration_text
from imagepipe.render.plan import SYMBOLS
from imagepipe.render.safe import markup, printable
from imagepipe.vocabulary import Phase

if TYPE_CHECKING:
    from imagepipe.apply.executor import ApplyResult

PHASE_ORDER = tuple(phase.value for phase in Phase)  # the bars in the order steps run


class PlainProgress:
    """One timestamped line per step start, end and failure (CI logs)."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
        address, message = printable(event.address), printable(event.message)
        if event.kind == "start":
            symbol = SYMBOLS.get(event.action, ("*", ""))[0]
            line = f"{stamp} {symbol} {address}: {message}"
        elif event.kind == "done":
            line = f"{stamp}   {address}: done ({message})"
        elif event.kind == "failed":
            line = f"{stamp} ! {address}: FAILED (the error is printed once, at the end)"
        elif event.kind == "skipped":
            line = f"{stamp}   {address}: skipped ({message})"
        elif event.kind == "retry":
            line = f"{stamp} ~ {address}: {message}"
        elif event.kind == "wave":
            line = f"{stamp} = {address}: rolling, {message}"
        else:
            return
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def start(self, totals: dict[str, int]) -> None:
        return None

    def stop(self) -> None:
        return None


class JsonProgress:
    """Events as JSON lines."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.stream.write(json.dumps(event.to_json()) + "\n")
            self.stream.flush()

    def start(self, totals: dict[str, int]) -> None:
        self(Event("begin", data={"steps": totals}))

    def stop(self) -> None:
        return None


class RichProgress:
    """A bar per phase (it fills with the steps done, never with failed or skipped ones), the
    steps running right now, and a line kept on screen for every step that ended."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, Any] = {}
        self.ended: dict[str, Counter[str]] = {}  # per phase: failed, skipped
        self.running: dict[str, str] = {}
        self.waves: dict[str, str] = {}  # per Deployment: its rollout's open wave (or its pause)
        self._lock = threading.Lock()
        self.live: Live | None = None

    def _render(self) -> Group:
        rolling = [f"  {printable(d)}: rolling, {printable(m)}" for d, m in self.waves.items()]
        running = [f"  {printable(a)}: {printable(m)}" for a, m in list(self.running.items())[:8]]
        current = Text("\n".join(running), style="dim")
        if not rolling:  # no rollout: the view as it always was
            return Group(self.progress, current)
        return Group(self.progress, Text("\n".join(rolling), style="magenta"), current)

    def start(self, totals: dict[str, int]) -> None:
        for phase in sorted(totals, key=lambda p: PHASE_ORDER.index(p) if p in PHASE_ORDER else 99):
            self.tasks[phase] = self.progress.add_task(phase, total=totals[phase])
        self.live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)
        self.live.start()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.kind == "wave":
                self.waves[event.address] = event.message
                self.console.print(
                    f"[magenta]= {markup(event.address)}: rolling, {markup(event.message)}[/magenta]"
                )
            elif event.kind in ("start", "retry"):
                self.running[event.address] = event.message
            elif event.kind in ("done", "failed", "skipped"):
                self.running.pop(event.address, None)
                task = self.tasks.get(event.phase)
                if event.kind == "done" and task is not None:
                    self.progress.advance(task)
                elif task is not None:
                    ended = self.ended.setdefault(event.phase, Counter())
                    ended[event.kind] += 1
                    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(ended.items()))
                    self.progress.update(task, description=f"{event.phase} ({parts})")
                self.console.print(self._ended_line(event), soft_wrap=True)
            if self.live is not None:
                self.live.update(self._render())

    @staticmethod
    def _ended_line(event: Event) -> str:
        address, message = markup(event.address), markup(event.message)
        if event.kind == "done":
            return f"  [green]✓[/green] {address}: {message}"
        if event.kind == "failed":
            return f"[bold red]! {address}: FAILED[/bold red] (the error is printed once, at the end)"
        return f"[dim]- {address}: skipped ({message})[/dim]"

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def summary_counts(result: ApplyResult) -> dict[str, Any]:
    counts: Counter[str] = result.counts()
    return {
        "created": counts["created"],
        "changed": counts["changed"],
        "replaced": counts["replaced"],
        "deleted": counts["deleted"],
        "actions": counts["actions"],
        "failed": counts["failed"],
        "skipped": counts["skipped"],
        "duration_s": round(result.duration, 1),
    } | ({"rollouts": dict(result.rollouts)} if result.rollouts else {})


def estimate_fields(result: ApplyResult, estimate: Estimate | None) -> dict[str, Any]:
    """The plan's estimate beside the measured time, both in Azure's seconds."""
    if estimate is None:
        return {}
    return {
        "estimate_s": round(estimate.seconds, 1),
        "measured_s": round(result.duration * estimate.speed, 1),
    }


def estimate_summary(result: ApplyResult, estimate: Estimate | None) -> str | None:
    fields = estimate_fields(result, estimate)
    if not fields or estimate is None or estimate.seconds <= 0:
        return None
    took = f"took {duration_text(fields['measured_s'])}"
    if estimate.speed != 1:
        took += f" of Azure time ({round(result.duration, 1)} s at this emulator's speed {estimate.speed:g})"
    return f"Estimated about {duration_text(fields['estimate_s'])}, {took}; bounded by {estimate.bound}."


def summary_table(result: ApplyResult, console: Console, estimate: Estimate | None = None) -> None:
    data = summary_counts(result)
    table = Table(title="Apply summary" if data["deleted"] == 0 or data["created"] else "Summary")
    columns = ("created", "changed", "replaced", "deleted", "actions", "failed", "skipped")
    for column in (*columns, "duration"):
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    table.add_row(*(str(data[c]) for c in columns), f"{data['duration_s']}s")
    console.print(table, width=max(console.width, 100))  # never cut a heading in an 80-column log
    for deployment, how_far in result.rollouts:
        console.print(f"Rollout of {markup(deployment)}: {markup(how_far)}", soft_wrap=True)
    line = estimate_summary(result, estimate)
    if line:
        console.print(markup(line))
