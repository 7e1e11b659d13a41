"""Which ready step starts next: longest remaining path first, within the capacity limits.

A ready step is started only when every slot it needs is free (see limits.py);
otherwise it is parked under the full slot and comes back when that slot is
given back, so a waiting step never holds a worker thread. Among startable steps
a step that uses an image source's slot goes first (that capacity is what bounds
a fan-out, it must never idle), then the one with the longest remaining path
(weighted by how long Azure takes for each kind): a ready source VM is created
before the next network.
"""

from __future__ import annotations

import heapq
import queue
from typing import Any

from imagepipe.apply.limits import ConcurrencyLimits, Slot

# Steps without an image source's slot (NICs, networks, captures) in flight at once,
# unless --parallelism says otherwise: enough to keep the write bucket busy.
AUTO_OTHER_STEPS = 64
# Steps with an image slot in flight at once, whatever the images allow: under ARM's write
# budget (200 at once, then 10 a second) against a VM create of 60 s, about 800 creates can
# be in flight; more workers would only wait on the pacer, each holding a thread.
MOST_IMAGE_STEPS = 1000
# Threads that run steps. A VM create holds none while Azure works on it (the watcher resumes
# the step), so the steps in flight are not bounded by the threads: these serve the requests,
# the pacer's waits and the steps that still wait in place (captures, disks, scale sets).
WORKER_THREADS = 128
_OTHER = "steps without an image slot"


def critical_path(graph: Any) -> dict[str, float]:
    """Per step: its own duration hint (its kind's, see vocabulary.py) plus the longest path of its
    dependants."""
    steps = graph.steps()
    remaining: dict[str, float] = {}
    for step in reversed(steps):
        tail = max((remaining[d] for d in graph.dependants(step.address)), default=0.0)
        remaining[step.address] = step.kind.duration_hint + tail
    return {step.address: remaining[step.address] for step in steps}  # in graph order


class Schedule:
    """The ready queue of one graph walk (used from the walking thread only)."""

    def __init__(
        self,
        priority: dict[str, float],
        limits: ConcurrencyLimits,
        slots: dict[str, list[Slot]],
        ceilings: tuple[int, int],
    ):
        self.priority = priority
        self.limits = limits
        self.slots = slots
        self.ceiling, self.other_ceiling = ceilings
        self.running = 0
        self.other_running = 0
        self._order = {address: i for i, address in enumerate(priority)}
        self._heap: list[tuple[int, float, int, str]] = []
        self._parked: dict[str, list[str]] = {}

    def _imaged(self, address: str) -> bool:
        return any(s.image for s in self.slots[address])

    def _admission(self, address: str) -> list[Slot]:
        return [s.admission() for s in self.slots[address]]

    def ready(self, address: str) -> None:
        # Steps that use a scarce image slot first (their slot must never idle), then the
        # longest remaining path, then graph order.
        first = 0 if self._imaged(address) else 1
        heapq.heappush(self._heap, (first, -self.priority[address], self._order[address], address))

    def startable(self) -> list[str]:
        """Take the steps that may start now, highest priority first (their slots are taken)."""
        started = []
        while self._heap and self.running < self.ceiling:
            address = heapq.heappop(self._heap)[3]
            imaged = self._imaged(address)
            if not imaged and self.other_running >= self.other_ceiling:
                self._parked.setdefault(_OTHER, []).append(address)
                continue
            full = self.limits.try_acquire(self._admission(address))
            if full is not None:
                self._parked.setdefault(full, []).append(address)
                continue
            self.running += 1
            self.other_running += 0 if imaged else 1
            started.append(address)
        return started

    def unpark(self, keys: list[str]) -> None:
        for key in keys:
            for address in self._parked.pop(key, []):
                self.ready(address)

    def finished(self, address: str) -> None:
        self.running -= 1
        if not self._imaged(address):
            self.other_running -= 1
            self.unpark([_OTHER])
        self.unpark([s.key for s in self._admission(address)])


class HeldSlots:
    """The slots one running step holds: its admission until it ends, image slots per create."""

    def __init__(self, limits: ConcurrencyLimits, slots: list[Slot], events: queue.SimpleQueue[Any]):
        self.limits = limits
        self.images = [s for s in slots if s.image]
        self.admitted = [s.admission() for s in slots]
        self.events = events
        self._images_held = False
        self._admitted_held = True  # taken by the scheduler when it started the step

    def hold_images(self) -> None:
        """Right before acting: wait for the image's capacity (the step was admitted to queue for it)."""
        if not self._images_held and self.images:
            self.limits.acquire(self.images)
        self._images_held = True

    def release_images(self) -> None:
        if self._images_held and self.images:
            self.limits.release(self.images)
        self._images_held = False

    def release_all(self) -> None:
        self.release_images()
        if self._admitted_held and self.admitted:
            self.limits.release(self.admitted)
            self.events.put(("released", [s.key for s in self.admitted]))
        self._admitted_held = False
