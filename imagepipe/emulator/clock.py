"""The emulator's one clock: every simulated duration, replica, token bucket and timestamp reads it.

The clock's timeline is in epoch seconds, as stored operations and replicas have always been
(so state files stay compatible), and simulated time runs `speed` times faster than it: a
simulated duration of `d` seconds lasts `d / speed` on the timeline. Tests move time forward
with `advance` (simulated seconds) instead of sleeping, and `pause` it to look at a state
that would otherwise last a few milliseconds; a `ManualClock` starts paused.
"""

from __future__ import annotations

import threading
import time


class SimClock:
    """Real time, plus whatever was skipped with `advance`, standing still while paused."""

    def __init__(self, speed: float = 100.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._skipped = 0.0
        self._paused_at: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current instant on the timeline (epoch seconds)."""
        paused_at = self._paused_at
        return (time.time() if paused_at is None else paused_at) + self._skipped

    def later(self, simulated: float) -> float:
        """The instant `simulated` seconds of Azure time from now."""
        return self.now() + self.span(simulated)

    def span(self, simulated: float) -> float:
        """How long `simulated` seconds of Azure time last on the timeline (and on the wall)."""
        return simulated / self.speed

    def advance(self, simulated: float) -> None:
        """Skip `simulated` seconds of Azure time (operations, replicas and buckets move on)."""
        if simulated < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._skipped += self.span(simulated)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        """Stop time where it is; only `advance` moves it until `resume`."""
        with self._lock:
            if self._paused_at is None:
                self._paused_at = time.time()

    def resume(self) -> None:
        """Let time flow again from where it stands (nothing jumps)."""
        with self._lock:
            if self._paused_at is not None:
                self._skipped += self._paused_at - time.time()
                self._paused_at = None


class ManualClock(SimClock):
    """A clock that stands still until `advance` (or `resume`) is called: tests decide every instant."""

    def __init__(self, speed: float = 100.0, start: float | None = None) -> None:
        super().__init__(speed)
        self._paused_at = time.time() if start is None else start
