"""ARM's per-subscription token buckets (reads, writes, deletes) and the resource providers' budgets
(budgets.py), refilled at speed x the real rates.

Buckets read the emulator's clock, so advancing it refills them as the time would have.
`/_emulator/faults` may shrink any of them (`configure`), for tests.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field

from imagepipe.emulator.budgets import Policy
from imagepipe.emulator.clock import SimClock

# capacity, refill per second (ARM's documented subscription limits)
LIMITS = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}


def arm_label(kind: str) -> str:
    """The name ARM's bucket of this kind goes by in stats and budget overrides."""
    return f"ARM/subscription-{kind}"


@dataclass(frozen=True)
class Override:
    capacity: float
    per_minute: float  # refill per minute of Azure time


@dataclass
class _Plain:
    """A provider's bucket: plain token bucket (a throttled call spends nothing)."""

    capacity: float
    rate: float  # per second of the timeline
    level: float
    stamp: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass(frozen=True)
class Spent:
    """One request's verdict against the provider budgets."""

    wait: float  # 0: served; else seconds (timeline) until the policy that refused has a token
    refused: Policy | None
    remaining: list[tuple[Policy, int]]  # every policy the request counts against, after it


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
        self._provider: dict[tuple[str, str, str, str], _Plain] = {}
        self._overrides: dict[str, Override] = {}

    def configure(self, overrides: dict[str, Override]) -> None:
        """Replace the budget overrides (label patterns, fnmatch); buckets start again full."""
        with self._lock:
            self._overrides = dict(overrides)
            self._buckets.clear()
            self._provider.clear()

    @property
    def overrides(self) -> dict[str, Override]:
        return dict(self._overrides)

    def _override(self, label: str) -> Override | None:
        low = label.lower()
        return next((o for p, o in self._overrides.items() if fnmatch.fnmatchcase(low, p.lower())), None)

    def spend(self, subscription: str, region: str, resource: str, policies: list[Policy]) -> Spent:
        """Take a token of every policy, or none: the first empty one refuses the request."""
        if not policies:
            return Spent(0.0, None, [])
        with self._lock:
            now = self._clock.now()
            buckets = [(p, self._plain(p, subscription, region, resource, now)) for p in policies]
            if self.enabled:
                for policy, bucket in buckets:
                    if bucket.level < 1.0:
                        wait = (1.0 - bucket.level) / bucket.rate
                        return Spent(wait, policy, [(p, int(b.level)) for p, b in buckets])
                for _, bucket in buckets:
                    bucket.level -= 1.0
            return Spent(0.0, None, [(p, max(0, int(b.level))) for p, b in buckets])

    def _plain(self, policy: Policy, subscription: str, region: str, resource: str, now: float) -> _Plain:
        key = (
            policy.label,
            subscription.lower(),
            "" if policy.namespace == "Microsoft.Network" else region.lower(),
            resource.lower() if policy.per_resource else "",
        )
        bucket = self._provider.get(key)
        if bucket is None:
            override = self._override(policy.label)
            capacity = override.capacity if override else policy.capacity
            per_minute = override.per_minute if override else policy.per_minute
            bucket = _Plain(capacity, per_minute / 60.0 * self._clock.speed, capacity, now)
            self._provider[key] = bucket
        else:
            bucket.refill(now)
        return bucket

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
            self._provider.clear()
            self._overrides.clear()

    def _bucket(self, subscription: str, kind: str) -> _Bucket:
        now = self._clock.now()
        bucket = self._buckets.get((subscription, kind))
        if bucket is None:
            capacity, rate = LIMITS[kind]
            override = self._override(arm_label(kind))
            if override is not None:
                capacity, rate = override.capacity, override.per_minute / 60.0
            bucket = _Bucket(capacity, rate * self._clock.speed, capacity, now)
            self._buckets[(subscription, kind)] = bucket
        else:
            bucket.refill(now)
        return bucket
