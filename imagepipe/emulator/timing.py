"""Simulated durations of operations, in seconds of Azure time (divided by the speed)."""

from __future__ import annotations

import math

VM_CREATE = 60.0
VM_DELETE = 30.0
VM_DEALLOCATE = 30.0
VM_POWER_OFF = 15.0
VM_START = 20.0
VM_RESTART = 20.0
VM_UPDATE = 10.0
RUN_COMMAND = 20.0
OS_PROVISIONING_TIMEOUT = 300.0  # Azure waits much longer; long enough to be noticed
DISK_CREATE = 5.0
DISK_DELETE = 5.0
SNAPSHOT_CREATE = 10.0
IMAGE_CREATE = 60.0
GALLERY_CREATE = 5.0
GALLERY_VERSION_BASE = 60.0
REPLICATION_PER_REGION = 300.0
REPLICATION_STAGGER = 30.0  # regions replicate in parallel, each a little after the previous
NETWORK = 2.0
GROUP_DELETE = 15.0
DEFAULT_DELETE = 5.0
VMSS_BASE = 90.0


def scale_set(instances: int) -> float:
    """Azure provisions scale-set instances in parallel: the time grows slowly with the count."""
    return VMSS_BASE + 15.0 * math.log2(max(1, instances))


def poll_interval(remaining_wall: float, speed: float) -> float:
    """The Retry-After to advise: about 10 simulated seconds, never 0 (0 means 'absent')."""
    return max(0.01, min(remaining_wall, 10.0 / speed))
