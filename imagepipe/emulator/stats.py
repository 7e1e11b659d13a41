"""Counters of what the emulator served (ARM calls only) and the optional JSON-lines request log."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter, deque
from pathlib import Path

from imagepipe.emulator.statedir import open_private

REQUEST_LOG = "requests.jsonl"


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.operations: Counter[str] = Counter()
        self.throttled = 0
        self.throttled_by_policy: Counter[str] = Counter()
        self._latencies: deque[float] = deque(maxlen=20_000)

    def count(self, method: str, operation: str) -> None:
        with self._lock:
            self.requests[method] += 1
            self.operations[operation] += 1

    def count_throttled(self, policy: str) -> None:
        """One 429, counted under the budget that refused it (ARM's bucket or a provider's policy)."""
        with self._lock:
            self.throttled += 1
            self.throttled_by_policy[policy] += 1

    def latency(self, ms: float) -> None:
        self._latencies.append(ms)

    def snapshot(self, resources: dict[str, int]) -> dict:
        with self._lock:
            ordered = sorted(self._latencies)
        return {
            "requests": {"GET": 0, "PUT": 0, "POST": 0, "DELETE": 0, "PATCH": 0, **self.requests},
            "operations": dict(sorted(self.operations.items())),
            "throttled": self.throttled,
            "throttled_by_policy": dict(sorted(self.throttled_by_policy.items())),
            "resources": dict(sorted(resources.items())),
            "latency_ms": {
                "p50": _percentile(ordered, 0.50),
                "p95": _percentile(ordered, 0.95),
                "max": round(ordered[-1], 3) if ordered else 0.0,
            },
        }

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.operations.clear()
            self.throttled = 0
            self.throttled_by_policy.clear()
            self._latencies.clear()


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


class RequestLog:
    """JSON lines of method, path, status, operation and duration; never bodies or headers."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / REQUEST_LOG
        self._lock = threading.Lock()
        self._file = None

    @property
    def enabled(self) -> bool:
        return self._file is not None

    def switch(self, enabled: bool) -> None:
        with self._lock:
            if enabled and self._file is None:
                self._file = os.fdopen(open_private(self.path), "a", encoding="utf-8")
            elif not enabled and self._file is not None:
                self._file.close()
                self._file = None

    def write(self, method: str, path: str, status: int, operation: str, ms: float) -> None:
        if self._file is None:
            return
        line = json.dumps(
            {
                "time": time.time(),
                "method": method,
                "path": path,
                "status": status,
                "operation": operation,
                "ms": round(ms, 3),
            }
        )
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
