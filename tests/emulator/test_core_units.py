"""The emulator's pure rules: token buckets, the guest model, fault rules, scale-set timing."""

from __future__ import annotations

import pytest

from imagepipe.emulator import guest, timing
from imagepipe.emulator.clock import ManualClock, SimClock
from imagepipe.emulator.faults import FaultError, Faults, parse_rules
from imagepipe.emulator.throttle import Throttle


def test_a_bucket_grants_its_capacity_then_spreads_throttled_clients_apart() -> None:
    throttle = Throttle(speed=0.01)  # writes refill one token every 10 s: the test's own pace is noise
    granted = [throttle.take("sub", "writes") for _ in range(200)]
    assert granted == [0.0] * 200
    waits = [throttle.take("sub", "writes") for _ in range(5)]
    assert all(w > 0 for w in waits)
    # Each throttled client gets its own refill slot, one refill apart, so retries do not collide.
    gaps = [later - earlier for earlier, later in zip(waits, waits[1:], strict=False)]
    assert all(gap == pytest.approx(10.0, abs=1.0) for gap in gaps)
    assert throttle.remaining("sub")["reads"] == 250  # buckets are per kind


def test_advancing_the_clock_refills_the_buckets() -> None:
    clock = ManualClock(speed=1.0)
    throttle = Throttle(clock=clock)
    assert all(throttle.take("sub", "writes") == 0.0 for _ in range(200))
    assert throttle.take("sub", "writes") > 0
    clock.advance(20.0)  # writes refill 10 per second
    assert throttle.remaining("sub")["writes"] == 200


def test_simulated_durations_scale_with_the_speed_and_a_paused_clock_stands_still() -> None:
    clock = SimClock(speed=40.0)
    assert clock.span(timing.VM_CREATE) == pytest.approx(1.5)
    clock.pause()
    stopped = clock.now()
    assert clock.now() == stopped
    clock.advance(40.0)  # one second of the timeline at speed 40
    assert clock.now() == pytest.approx(stopped + 1.0)
    clock.resume()
    assert clock.now() >= stopped + 1.0  # nothing jumps back
    with pytest.raises(ValueError):
        clock.advance(-1.0)


def test_throttling_off_never_refuses() -> None:
    throttle = Throttle(speed=1.0, enabled=False)
    assert all(throttle.take("sub", "deletes") == 0.0 for _ in range(1000))


@pytest.mark.parametrize(
    ("os_type", "script", "exit_code", "deprovisioned", "shutdown"),
    [
        ("Linux", "sudo waagent -deprovision+user -force", 0, True, False),
        ("Linux", "apt-get install -y nginx\nexit 2", 2, False, False),
        ("Linux", "waagent -deprovision+user -force\nexit 1", 1, False, False),
        (
            "Windows",
            r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet",
            0,
            True,
            True,
        ),
        ("Windows", r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /quit", 0, True, False),
        ("Windows", "Install-WindowsFeature Web-Server", 0, False, False),
    ],
)
def test_the_guest_model_recognises_identity_resets_and_exit_codes(
    os_type: str, script: str, exit_code: int, deprovisioned: bool, shutdown: bool
) -> None:
    run = guest.run(os_type, script)
    assert (run.exit_code, run.deprovisioned, run.shutdown) == (exit_code, deprovisioned, shutdown)
    codes = [s["code"] for s in guest.statuses(run)]
    state = "failed" if exit_code else "succeeded"
    assert codes == [f"ComponentStatus/StdOut/{state}", f"ComponentStatus/StdErr/{state}"]


def test_fault_rules_are_validated_and_seeded() -> None:
    with pytest.raises(FaultError, match="status"):
        parse_rules([{"operation": "*", "status": 404}])
    with pytest.raises(FaultError, match="probability"):
        parse_rules([{"operation": "*", "status": 500, "probability": 2}])
    rules, seed = parse_rules(
        [{"operation": "VirtualMachines_*", "status": 503, "probability": 0.5, "seed": 3}]
    )
    first, second = Faults(), Faults()
    first.configure(rules, seed)
    second.configure(rules, seed)
    decisions = [first.decide("VirtualMachines_CreateOrUpdate").status for _ in range(50)]
    assert decisions == [second.decide("VirtualMachines_CreateOrUpdate").status for _ in range(50)]
    assert set(decisions) == {None, 503}
    assert first.decide("Disks_Get").status is None


def test_scale_set_provisioning_time_grows_slower_than_the_instance_count() -> None:
    assert timing.scale_set(1000) < 2 * timing.scale_set(10)
