"""The pacer under every budget the emulator models: a fan-out with shrunk Compute and Network
budgets, paced by the counts the answers report, is never throttled."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import admin, apply, plan
from test_engine_scale import learn_with

from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator

# Small enough that the fan-out reaches each one; each refills at least capacity/5 a minute,
# the slowest refill Azure documents (the pacer assumes no faster for a budget it discovers).
SHRUNK = {
    "Microsoft.Compute/CreateVMSubscription": {"capacity": 5, "per_minute": 6},
    "Microsoft.Compute/UpdateVMResource": {"capacity": 3, "per_minute": 3},
    "Microsoft.Compute/GetVMResource": {"capacity": 6, "per_minute": 6},
    "Microsoft.Compute/ListVMSubscription": {"capacity": 10, "per_minute": 60},
    "Microsoft.Network/WritesAndDeletes5Min": {"capacity": 3, "per_minute": 6},
}


def test_a_fan_out_under_shrunk_budgets_is_never_throttled(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "budgets", speed=100.0, throttling=True) as emulator:
        admin(emulator, "faults", {"rules": [], "budgets": SHRUNK})
        target = connect_emulator(emulator, polling_interval=0.02)
        try:
            folder = learn_with(tmp_path, 12)
            outcome = apply(target, folder, parallelism=None)
            assert outcome.result is not None and outcome.result.ok
            assert not plan(target, folder).has_changes
            stats = admin(emulator, "stats")
        finally:
            target.close()
    assert stats["throttled"] == 0, stats["throttled_by_policy"]
    assert stats["operations"]["VirtualMachines_CreateOrUpdate"] >= 13  # more than the create budget held
