"""The polling and throttling delay headers: Retry-After in whole seconds, retry-after-ms exact.

The ARM RPC (async-api-reference.md) makes Retry-After an integer count of seconds, so
clients in every language parse it; the emulator's delays are speed-scaled fractions
of a second, so the exact delay rides in `retry-after-ms` beside it, and a client that
prefers it (imagepipe's own, azure-core's fallback) keeps polling at the emulator's pace.
"""

from __future__ import annotations

import math


def retry_after_headers(wall_seconds: float) -> dict[str, str]:
    """`Retry-After` (ceil, at least 1 second) and `retry-after-ms` (at least 1 ms) for a delay."""
    seconds = max(0.0, wall_seconds)
    return {
        "Retry-After": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(max(1, round(seconds * 1000))),
    }


def whole_seconds(wall_seconds: float) -> int:
    """The delay as a 429 message states it: whole seconds, at least 1."""
    return max(1, math.ceil(max(0.0, wall_seconds)))
