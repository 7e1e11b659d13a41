"""Run `imagepipe` as its own process, the way a user does, and measure the whole of it.

Wall time from the fork to the exit; the process's peak RSS (VmHWM) and most threads
at once, sampled from /proc every 50 ms; and the instant of its first write as the
emulator's request log saw it. Start-up and planning (before the first write) are
the client's own time and count in real seconds; the rest is Azure's time and counts
`speed` times (see `azure_seconds`).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchkit.emulator import imagepipe_command

WRITE_METHODS = ("PUT", "POST", "PATCH", "DELETE")
LOCK_GROUP = "imagepipe-locks"  # imagepipe/azure/lease.py: the stack locks' resource group
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessRun:
    args: tuple[str, ...]
    exit_code: int
    started: float  # epoch seconds
    ended: float
    peak_rss_mb: float
    peak_threads: int
    cpu_seconds: float  # user + system of the process
    log: Path

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def wall_seconds(self) -> float:
        return self.ended - self.started

    def last_lines(self, count: int = 3) -> str:
        lines = [line for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines() if line]
        return " | ".join(lines[-count:])

    def describe_failure(self) -> str:
        return f"`imagepipe {' '.join(self.args)}` exited {self.exit_code}: {self.last_lines()}"


def _sample(pid: int, peaks: dict[str, float], done: threading.Event) -> None:
    status = Path(f"/proc/{pid}/status")
    while not done.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks["rss_kb"] = max(peaks["rss_kb"], float(line.split()[1]))
                elif line.startswith("Threads:"):
                    peaks["threads"] = max(peaks["threads"], float(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass
        done.wait(SAMPLE_SECONDS)


def run_process(args: Sequence[str], env: Mapping[str, str], log: Path) -> ProcessRun:
    log.parent.mkdir(parents=True, exist_ok=True)
    peaks = {"rss_kb": 0.0, "threads": 0.0}
    done = threading.Event()
    with log.open("w", encoding="utf-8") as sink:
        started = time.time()
        process = subprocess.Popen(
            [*imagepipe_command(), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
        sampler = threading.Thread(target=_sample, args=(process.pid, peaks, done), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    return ProcessRun(
        tuple(args),
        process.returncode,
        started,
        ended,
        round(peaks["rss_kb"] / 1024, 1),
        int(peaks["threads"]),
        round(usage.ru_utime + usage.ru_stime, 2),
        log,
    )


def first_write(request_log: Path, since: float) -> float | None:
    """The epoch second of the apply's first write the emulator served after `since`."""
    if not request_log.is_file():
        return None
    with request_log.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("time", 0) >= since and _apply_write(entry):
                # The log writes when the answer leaves; the request came `ms` earlier.
                return float(entry["time"]) - float(entry.get("ms", 0)) / 1000
    return None


def _apply_write(entry: dict) -> bool:
    """A write of the apply itself: an ARM request (not the token, not the admin API), and not
    the stack lock's lease, which is taken before planning."""
    path = str(entry.get("path", "")).lower()
    return (
        entry.get("method") in WRITE_METHODS
        and path.startswith("/subscriptions/")
        and f"/resourcegroups/{LOCK_GROUP}/" not in path + "/"
    )


def azure_seconds(run: ProcessRun, first_write_at: float | None, speed: float) -> tuple[float, float]:
    """(client seconds before the first write, whole run in Azure seconds): the client's start-up
    and planning in real seconds, the rest multiplied by the speed."""
    if first_write_at is None:
        return run.wall_seconds, run.wall_seconds
    before = max(0.0, first_write_at - run.started)
    return before, before + (run.ended - first_write_at) * speed


def last_json(log: Path) -> dict:
    """The last JSON line of a command's output (apply -o json ends with its summary)."""
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {}
