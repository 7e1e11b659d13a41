"""Azure's request budgets as imagepipe knows them before any answer: ARM's documented subscription
buckets and the rule for any other budget an answer reports. The pacer (azure/pacing.py) starts
from these and the plan's estimate (plan/estimate.py) is computed with them.

Learn "Understand how Azure Resource Manager throttles requests": per subscription, reads 250
(refill 25/s), writes 200 (10/s), deletes 200 (10/s). Learn "Compute throttling limits": VM creates
per subscription and region 1,500 (500/min). Network: 1,000 writes and 10,000 reads per 5 min.
"""

from __future__ import annotations

# ARM's subscription buckets: (capacity, refill per second), by the header's suffix.
ARM_BUCKETS: dict[str, tuple[float, float]] = {
    "reads": (250.0, 25.0),
    "writes": (200.0, 10.0),
    "deletes": (200.0, 10.0),
}

# A budget an answer reports whose refill nothing documents for the client: assume the slowest
# documented window (Network's 5 minutes) refills it, so the pacer may be slower than Azure
# when such a bucket runs dry, never faster.
UNKNOWN_REFILL_WINDOW = 300.0

# Figures the estimate uses (Learn "Compute throttling limits": per subscription and region).
COMPUTE_VM_CREATE = (1500.0, 500.0 / 60.0)  # capacity, refill per second
NETWORK_WRITES = (1000.0, 1000.0 / 300.0)


def reserve(capacity: float) -> float:
    """Tokens the pacer leaves in a bucket: for other clients and retries, 10 of a large bucket,
    one of a small one (a VM's own buckets hold 12 to 45)."""
    return max(1.0, min(10.0, capacity // 10))
