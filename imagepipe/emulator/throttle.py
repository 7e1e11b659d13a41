"""ARM's per-subscription token buckets (reads, writes, deletes), refilled at speed x the real rates.

Buckets read the emulator's clock, so advancing it refills them as the time would have.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from imagepipe.emulator.clock import SimClock

# capacity, refill per second (ARM's documented subscription limits)
LIMITS = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}


def category(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    if method == "DELETE":
        return "deletes"
    return "writes"


@dataclass
class _Bucket:
    capacity: float
    rate: float
    level: float
    stamp: float
    next_slot: float = 0.0  # when the next throttled client may come back
    # client request id -> its slot: a throttled client is served first when it comes back
    # (SDK retries resend the same x-ms-client-request-id), newcomers queue behind it.
    reserved: dict[str, float] = field(default_factory=dict)

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now


class Throttle:
    def __init__(
        self, speed: float | None = None, enabled: bool = True, *, clock: SimClock | None = None
    ) -> None:
        self.enabled = enabled
        self._clock = clock or SimClock(speed or 100.0)
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, subscription: str, kind: str, request_id: str | None = None) -> float:
        """Spend one token; answer 0 when granted, else the seconds until the client's turn."""
        with self._lock:
            bucket = self._bucket(subscription, kind)
            if not self.enabled:
                return 0.0
            now = bucket.stamp
            step = 1.0 / bucket.rate
            grace = max(1.0, 50.0 * step)
            for stale in [rid for rid, slot in bucket.reserved.items() if slot < now - grace]:
                del bucket.reserved[stale]
            slot = bucket.reserved.get(request_id or "")
            if slot is not None:
                if now >= slot - step / 2:
                    del bucket.reserved[request_id or ""]
                    bucket.level -= 1.0
                    return 0.0
                return slot - now  # back too early: same turn
            if bucket.level - len(bucket.reserved) >= 1.0:
                bucket.level -= 1.0
                return 0.0
            # Each throttled client gets its own refill slot, 1/rate apart: clients told the
            # same instant would race for one token and exhaust their retries.
            wait = max((1.0 + len(bucket.reserved) - bucket.level) * step, bucket.next_slot - now)
            bucket.next_slot = now + wait + step
            if request_id:
                bucket.reserved[request_id] = now + wait
            return wait

    def remaining(self, subscription: str) -> dict[str, int]:
        with self._lock:
            return {kind: max(0, int(self._bucket(subscription, kind).level)) for kind in LIMITS}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _bucket(self, subscription: str, kind: str) -> _Bucket:
        now = self._clock.now()
        bucket = self._buckets.get((subscription, kind))
        if bucket is None:
            capacity, rate = LIMITS[kind]
            bucket = _Bucket(capacity, rate * self._clock.speed, capacity, now)
            self._buckets[(subscription, kind)] = bucket
        else:
            bucket.refill(now)
        return bucket
