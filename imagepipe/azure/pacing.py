"""Pace every request to every budget Azure reports, client-side, instead of being answered 429.

Every answer carries counts of the budgets it was charged to: ARM's
``x-ms-ratelimit-remaining-subscription-<kind>: <n>`` and the providers'
``x-ms-ratelimit-remaining-resource: Microsoft.Compute/<Policy>;<n>,...`` (any
``x-ms-ratelimit-remaining-*`` header is read the same way; nothing here knows a policy
name). The pacer learns, per kind of request (method, provider, resource type, action), which
budgets it is charged to, and keeps a copy of each budget per subscription, region and (for a
policy whose name ends in ``Resource``) resource.

A copy is set from the server's count, never from local guesses about what the server saw:
on each answer it becomes the reported count less every request of that budget sent after the
answered one and less the older ones still unanswered (the server may not have counted them
yet). Answers that arrive out of order are ignored (an older count is staler). Between answers
the copy refills at the documented rate (ARM's buckets) or at a rate no faster than any Azure
documents (throttling.py); a slow client or a slow server only makes the copy lower than the
truth, never higher, so a request waits instead of being throttled. A reserve is left in every
bucket for other clients.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

from imagepipe.throttling import ARM_BUCKETS, UNKNOWN_REFILL_WINDOW, reserve

log = logging.getLogger("imagepipe.azure")

PREFIX = "x-ms-ratelimit-remaining-"
SUBSCRIPTION_PREFIX = "x-ms-ratelimit-remaining-subscription-"
_CONTEXT_KEY = "imagepipe_pacer"
_LOCATION = re.compile(rb'"location"\s*:\s*"([^"]+)"')
MAX_SLEEP = 5.0  # look again at least this often (an answer of another thread may have come)


@dataclass
class Budget:
    """The client's copy of one bucket in one scope."""

    capacity: float
    rate: float  # tokens per second of the wall clock
    level: float
    stamp: float
    known: bool  # a count was ever reported (a new bucket is assumed full)
    sent: int = 0  # requests charged to it, ever (their sequence numbers)
    in_flight: set[int] = field(default_factory=set)
    answered: int = -1  # sequence number of the request whose count the copy was last set from

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass(frozen=True)
class Shape:
    """What kind of request this is, and what it acts on, from its URL."""

    kind: tuple[str, str, str]  # method, provider, resource types and action
    resource: str  # the top-level resource the URL names (lower case), "" for a collection
    region: str  # from the URL or the request body, "" when neither says


def shape_of(method: str, url: str, body: bytes | None, regions: dict[str, str]) -> Shape:
    path = urlsplit(url).path.lower()
    parts = [p for p in path.split("/") if p]
    if "providers" not in parts:
        return Shape((method, "", "/".join(parts[2:3])), "", "")
    at = parts.index("providers")
    namespace, rest = (parts[at + 1] if len(parts) > at + 1 else ""), parts[at + 2 :]
    types = rest[0::2]
    if len(rest) % 2 == 1 and len(rest) > 1:  # an action or a sub-path: kept as the last "type"
        types = [*rest[0:-1:2], rest[-1]]
    resource = "/" + "/".join(parts[: at + 4]) if len(rest) >= 2 else ""
    region = ""
    if rest[:1] == ["locations"] and len(rest) >= 2:
        region = rest[1]
    elif body and method == "PUT":
        found = _LOCATION.search(body[:4096])
        region = found.group(1).decode(errors="replace").replace(" ", "").lower() if found else ""
    if not region and resource:
        region = regions.get(resource, "")
    return Shape((method, namespace, "/".join(types)), resource, region)


def parse_counts(headers: Any) -> list[tuple[str, int]]:
    """Every `x-ms-ratelimit-remaining-*` count: (budget name, remaining)."""
    counts = []
    for name, value in headers.items():
        low = name.lower()
        if not low.startswith(PREFIX):
            continue
        if low.startswith(SUBSCRIPTION_PREFIX) and value.strip().isdigit():
            counts.append((low[len(PREFIX) :], int(value)))
            continue
        for item in value.split(","):
            policy, _, count = item.strip().rpartition(";")
            if policy and count.strip().isdigit():
                counts.append((policy.strip(), int(count)))
    return counts


def _body_head(http: Any) -> bytes | None:
    """The start of a request's body (where a resource's `location` is), whichever request type."""
    for attribute in ("content", "body", "data"):
        try:
            value = getattr(http, attribute, None)
        except Exception:  # a streamed body has no content to show
            value = None
        if isinstance(value, bytes):
            return value[:4096]
        if isinstance(value, str):
            return value[:4096].encode()
    return None


def per_resource(budget: str) -> bool:
    return budget.lower().endswith("resource")


class Pacer(SansIOHTTPPolicy):
    """One per subscription, shared by its clients (and the watcher's listing)."""

    def __init__(self, speed: float = 1.0, clock: Any = time.monotonic, sleep: Any = time.sleep):
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str, str], Budget] = {}  # (budget, region, resource)
        self._charged: dict[tuple[str, str, str], set[str]] = {}  # kind of request -> budget names
        self._capacity: dict[str, float] = {}  # budget name -> largest count seen + 1
        self._regions: dict[str, str] = {}  # resource -> region, from the creates sent
        self.throttled = 0  # 429s this client was answered (should stay 0)

    # -- which budgets a request is charged to -------------------------------------------------
    @staticmethod
    def _arm_default(method: str) -> str:
        kind = "reads" if method in ("GET", "HEAD") else "deletes" if method == "DELETE" else "writes"
        return f"subscription-{kind}"

    def _names(self, shape: Shape) -> set[str]:
        known = self._charged.get(shape.kind)
        return known if known is not None else {self._arm_default(shape.kind[0])}

    def _key(self, name: str, shape: Shape) -> tuple[str, str, str]:
        if name.startswith("subscription-"):
            return (name, "", "")  # ARM's: the whole subscription
        return (name, shape.region, shape.resource if per_resource(name) else "")

    def _budget(self, key: tuple[str, str, str], now: float) -> Budget:
        budget = self._budgets.get(key)
        if budget is None:
            name = key[0]
            documented = ARM_BUCKETS.get(name.removeprefix("subscription-"))
            if documented is not None:
                capacity, rate = documented
            else:
                capacity = self._capacity.get(name, 0.0)
                rate = capacity / UNKNOWN_REFILL_WINDOW
            budget = Budget(capacity, rate * self.speed, capacity, now, known=documented is not None)
            self._budgets[key] = budget
        else:
            budget.refill(now)
        return budget

    # -- sending -------------------------------------------------------------------------------
    def take(self, shape: Shape) -> tuple[float, list[tuple[tuple[str, str, str], int]]]:
        """Take a token of every budget the request is charged to and answer (0, tickets), or
        answer how long to wait before asking again (nothing taken)."""
        with self._lock:
            now = self.clock()
            keys = [self._key(name, shape) for name in self._names(shape)]
            budgets = [(key, self._budget(key, now)) for key in keys]
            wait = 0.0
            for _, b in budgets:
                if b.capacity <= 0:  # reported but never counted above 0: nothing to pace on
                    continue
                floor = reserve(b.capacity)
                if b.level - 1.0 < floor - 1e-6:
                    wait = max(wait, (floor + 1.0 - b.level) / b.rate if b.rate > 0 else MAX_SLEEP)
            if wait > 0:
                return wait, []
            tickets = []
            for key, b in budgets:
                b.level -= 1.0
                b.in_flight.add(b.sent)
                tickets.append((key, b.sent))
                b.sent += 1
            return 0.0, tickets

    def on_request(self, request: PipelineRequest) -> None:
        http = request.http_request
        shape = shape_of(http.method.upper(), http.url, _body_head(http), self._regions)
        if shape.region and shape.resource and http.method.upper() == "PUT":
            self._regions[shape.resource] = shape.region
        while True:
            wait, tickets = self.take(shape)
            if wait <= 0:
                break
            log.debug("pacing %s %s for %.3fs: a budget is low", http.method, shape.kind[2], wait)
            self.sleep(min(wait, MAX_SLEEP))
        request.context[_CONTEXT_KEY] = (shape, tickets)

    # -- answers -------------------------------------------------------------------------------
    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:
        shape, tickets = request.context.get(_CONTEXT_KEY) or (None, [])
        headers = response.http_response.headers
        with self._lock:
            now = self.clock()
            if response.http_response.status_code == 429:
                self.throttled += 1
            charged = dict(tickets)
            counts = parse_counts(headers)
            if shape is not None and counts:
                self._charged[shape.kind] = {name for name, _ in counts}
            for name, remaining in counts:
                self._capacity[name] = max(self._capacity.get(name, 0.0), remaining + 1.0)
                if shape is None:
                    continue
                key = self._key(name, shape)
                budget = self._budget(key, now)
                if budget.capacity < remaining + 1.0:  # larger than assumed: use it
                    budget.capacity = remaining + 1.0
                    if not budget.known and key[0] not in ARM_BUCKETS:
                        budget.rate = budget.capacity / UNKNOWN_REFILL_WINDOW * self.speed
                self._reset(budget, charged.get(key), remaining, now)
            self._release(tickets)

    def _reset(self, budget: Budget, seq: int | None, remaining: int, now: float) -> None:
        if seq is None:  # not charged to it when sent (its kind was not known yet)
            budget.level = remaining - len(budget.in_flight)
            budget.known = True
            budget.stamp = now
            return
        if seq < budget.answered:
            return  # an older count than the one the copy holds
        after = budget.sent - seq - 1  # sent since this one, answered or not
        older = sum(1 for s in budget.in_flight if s < seq)
        budget.level = remaining - after - older
        budget.answered = seq
        budget.known = True
        budget.stamp = now

    def _release(self, tickets: list[tuple[tuple[str, str, str], int]]) -> None:
        for key, seq in tickets:
            budget = self._budgets.get(key)
            if budget is not None:
                budget.in_flight.discard(seq)

    def on_exception(self, request: PipelineRequest) -> None:
        _, tickets = request.context.get(_CONTEXT_KEY) or (None, [])
        with self._lock:
            self._release(tickets)

    def snapshot(self) -> dict[str, Any]:
        """The copies, for debugging: budget -> lowest level across its scopes."""
        with self._lock:
            low: dict[str, float] = {}
            for (name, _, _), b in self._budgets.items():
                low[name] = min(low.get(name, b.level), b.level)
            return json.loads(json.dumps(low))
