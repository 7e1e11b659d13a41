"""Fault schedules for the emulator's `/_emulator/faults`, shared by the CI suite and the matrix script."""

from __future__ import annotations

from typing import Any

RETRYABLE_LRO_CODES = ("AllocationFailed", "AnotherOperationInProgress", "InternalExecutionError")
FATAL_CODES = ("InvalidParameter", "OperationNotAllowed", "QuotaExceeded", "RequestDisallowedByPolicy")

# Operations whose LROs may fail with a retryable code in Azure (writes that start work).
LRO_OPERATIONS = (
    "VirtualMachines_CreateOrUpdate",
    "VirtualMachines_Deallocate",
    "VirtualMachines_PowerOff",
    "VirtualMachines_Start",
    "NetworkInterfaces_CreateOrUpdate",
    "Disks_CreateOrUpdate",
    "Snapshots_CreateOrUpdate",
    "Images_CreateOrUpdate",
    "GalleryImageVersions_CreateOrUpdate",
    "VirtualMachineRunCommands_CreateOrUpdate",
    "VirtualMachineScaleSets_CreateOrUpdate",
)


def schedule(kind: str, rate: float, seed: int) -> dict[str, Any]:
    """One named fault schedule at ``rate`` (0..1) of the matching requests."""
    rules: list[dict[str, Any]]
    if kind == "429-retry-after":
        rules = [{"operation": "*", "status": 429, "retry_after": True, "probability": rate}]
    elif kind == "429-no-retry-after":
        rules = [{"operation": "*", "status": 429, "retry_after": False, "probability": rate}]
    elif kind in ("500", "502", "503"):
        rules = [{"operation": "*", "status": int(kind), "retry_after": False, "probability": rate}]
    elif kind == "5xx-mixed":
        rules = [
            {"operation": "*", "status": status, "retry_after": False, "probability": rate / 3}
            for status in (500, 502, 503)
        ]
    elif kind == "latency":
        rules = [{"operation": "*", "latency_ms": 300, "probability": rate}]
    elif kind in RETRYABLE_LRO_CODES:
        rules = [{"operation": op, "lro_error": kind, "probability": rate} for op in LRO_OPERATIONS]
    elif kind == "everything":
        share = rate / 4
        rules = [
            {"operation": "*", "status": 429, "retry_after": True, "probability": share},
            {"operation": "*", "status": 503, "retry_after": False, "probability": share},
            {"operation": "*", "latency_ms": 200, "probability": share},
            *(
                {"operation": op, "lro_error": "AllocationFailed", "probability": share}
                for op in LRO_OPERATIONS
            ),
        ]
    else:
        raise ValueError(f"unknown fault kind {kind}")
    return {"seed": seed, "rules": rules}


RETRYABLE_KINDS = (
    "429-retry-after",
    "429-no-retry-after",
    "500",
    "502",
    "503",
    "latency",
    *RETRYABLE_LRO_CODES,
    "everything",
)


# Fatal faults on one operation: (spec set, operation, code, the step that fails, a step that
# must still finish: of an independent branch where the spec set has one).
FATAL_CASES = [
    (
        "learn-exercise",
        "Images_CreateOrUpdate",
        "InvalidParameter",
        "Capture/my-image/image",
        "VirtualNetwork/learn-rg/learn-vnet",
    ),
    (
        "learn-exercise",
        "VirtualMachines_Deallocate",
        "OperationNotAllowed",
        "Capture/my-image/deallocate",
        "VirtualNetwork/learn-rg/learn-vnet",
    ),
    (
        "learn-exercise",
        "VirtualMachineRunCommands_CreateOrUpdate",
        "QuotaExceeded",
        "SourceVM/source/customize[0]",
        "VirtualNetwork/learn-rg/learn-vnet",
    ),
    (
        "learn-exercise",
        "VirtualMachines_CreateOrUpdate",
        "RequestDisallowedByPolicy",
        "SourceVM/source/vm",
        "VirtualNetwork/learn-rg/learn-vnet",
    ),
    (
        "fleet",
        "GalleryImageVersions_CreateOrUpdate",
        "QuotaExceeded",
        "Capture/web-image/gallery-version",
        "Capture/web-image/restore-source",
    ),
    (
        "snapshot-restore",
        "Snapshots_CreateOrUpdate",
        "RequestDisallowedByPolicy",
        "Capture/app-snapshot/snapshots",
        "VirtualNetwork/snap-restore-rg/restore-vnet",
    ),
]
