"""What may run at once: Azure's per-image-source capacity and a Deployment's ``maxParallel``.

A managed image serves at most 20 VM creates in flight (Azure fails the 21st);
a gallery version serves `vmsPerReplica` (default 20) per replica in each region. The scheduler asks
for every slot a step needs at once, without blocking (a step that cannot start
yet waits in the ready queue, not on a thread), and gives the image slots back as
soon as the create ended. A few more steps than the capacity are admitted: they
evaluate while the image is busy and take the image's slot just for their create.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from imagepipe.graph.step import Step
from imagepipe.steps.context import Context
from imagepipe.steps.desired.names import capture_image_id

PER_IMAGE_LIMIT = 20


# Steps admitted per image source beyond its capacity: they read and compare while
# the image is busy, so the next create is sent the moment a slot frees up.
PREFETCH = 10


@dataclass(frozen=True)
class Slot:
    key: str
    limit: int
    image: bool  # an image source's capacity (taken for the create only), else maxParallel

    def admission(self) -> Slot:
        """The scheduler's slot: the image's capacity plus the steps getting ready behind it."""
        return Slot(f"admit:{self.key}", self.limit + PREFETCH, False) if self.image else self


def _norm(region: str) -> str:
    return region.replace(" ", "").lower()


def slots_of(step: Step, ctx: Context) -> list[Slot]:
    """The limited capacities a step uses while it runs (none for most steps)."""
    if not step.kind.image_slot:
        return []
    doc = ctx.deployment(step.document)
    capture = ctx.capture(doc.image)
    slots = []
    if capture.gallery is not None:  # vmsPerReplica per replica in the deployment's own region
        region = _norm(doc.location_name)
        replicas = next(
            (t.replicas for t in capture.gallery.target_regions if _norm(t.name) == region),
            1,
        )
        image_id = capture_image_id(ctx, doc.image).lower()
        per_replica = capture.gallery.vms_per_replica
        slots.append(Slot(f"gallery:{image_id}:{region}", per_replica * replicas, True))
    elif capture.image is not None and capture.type == "generalized":
        slots.append(Slot(f"image:{capture_image_id(ctx, doc.image).lower()}", PER_IMAGE_LIMIT, True))
    if isinstance(doc.max_parallel, int):
        slots.append(Slot(f"deployment:{doc.ref}", max(1, doc.max_parallel), False))
    return slots


class ConcurrencyLimits:
    """Counters of slots in use; all-or-nothing, non-blocking acquisition."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._cond = threading.Condition()

    def try_acquire(self, slots: list[Slot]) -> str | None:
        """Take every slot and answer None, or take none and answer the key that is full."""
        with self._cond:
            full = next((s.key for s in slots if self._used.get(s.key, 0) >= s.limit), None)
            if full is None:
                for s in slots:
                    self._used[s.key] = self._used.get(s.key, 0) + 1
            return full

    def acquire(self, slots: list[Slot]) -> None:
        """Blocking: only for a step that must act again after it gave its image slots back."""
        with self._cond:
            self._cond.wait_for(lambda: all(self._used.get(s.key, 0) < s.limit for s in slots))
            for s in slots:
                self._used[s.key] = self._used.get(s.key, 0) + 1

    def release(self, slots: list[Slot]) -> None:
        with self._cond:
            for s in slots:
                self._used[s.key] = max(0, self._used.get(s.key, 0) - 1)
            self._cond.notify_all()

    def in_use(self, key: str) -> int:
        with self._cond:
            return self._used.get(key, 0)


def capacity(slots: list[Slot]) -> int:
    """How many steps the distinct image sources of these slots let run at once."""
    limits = {s.key: s.limit for s in slots if s.image}
    return sum(limits.values())
