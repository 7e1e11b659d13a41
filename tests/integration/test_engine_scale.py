"""Fan-out at scale: capacity-aware scheduling, critical path first, batched reads, paced writes."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import admin, apply, plan

from imagepipe.apply import executor
from imagepipe.apply.limits import PREFETCH
from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target, connect_emulator
from imagepipe.emulator import start_emulator

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
OLD_DEFAULT_PARALLELISM = 10


def learn_with(tmp_path: Path, count: int, extra_groups: int = 0) -> Path:
    """The Learn exercise deploying ``count`` VMs, plus one Deployment in each extra resource group."""
    folder = shutil.copytree(GOLDEN / "scaled-up" / "specs", tmp_path / f"fleet-{count}-{extra_groups}")
    spec = folder / "learn-exercise.yaml"
    text = spec.read_text().replace("count: 3", f"count: {count}")
    deployment = text[text.index("apiVersion: imagepipe/v1\nkind: Deployment") :]
    for i in range(extra_groups):
        text += "\n---\n" + deployment.replace("name: new-vm", f"name: extra-{i}").replace(
            "resourceGroup: learn-rg", f"resourceGroup: extra-rg-{i}"
        ).replace("myVMFromImage-", f"extra{i}-").replace(f"count: {count}", "count: 1")
    spec.write_text(text)
    return folder


def spans(emulator: Any, operation: str) -> list[tuple[float, float]]:
    entries = admin(emulator, f"journal?name={operation}")["value"]
    return [
        (datetime.fromisoformat(e["startTime"]).timestamp(), datetime.fromisoformat(e["endTime"]).timestamp())
        for e in entries
        if "myVMFromImage" in e["resourceId"] or "networkInterfaces" in e["resourceId"]
    ]


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


@pytest.fixture
def slow_emulator(tmp_path: Path) -> Iterator[Any]:
    # VM creates of 0.6 s wall: long enough that the concurrency the engine chose shows in the journal.
    with start_emulator(tmp_path / "slow-state", speed=100.0, throttling=True) as em:
        yield em


def test_vm_creates_fill_the_managed_images_capacity_and_never_exceed_it(
    tmp_path: Path, slow_emulator: Any
) -> None:
    target = connect_emulator(slow_emulator, polling_interval=0.02)
    try:
        folder = learn_with(tmp_path, 45)
        outcome = apply(target, folder, parallelism=None)
        assert outcome.result is not None and outcome.result.ok
        assert not plan(target, folder).has_changes
        vm_creates = spans(slow_emulator, "VirtualMachines_CreateOrUpdate")
        assert len(vm_creates) == 45
        in_flight = most_at_once(vm_creates)
        assert OLD_DEFAULT_PARALLELISM < in_flight <= 20  # Azure fails a managed image's 21st create
        assert admin(slow_emulator, "stats")["throttled"] == 0
    finally:
        target.close()


def test_vm_creates_in_flight_hold_no_thread(
    tmp_path: Path, slow_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VM create is followed by the watcher, not by a thread: with 4 worker threads (and the
    10 that may wait for the image's slot), the managed image's 20 creates still run at once
    (a fan-out of 10,000 needs no 10,000 threads)."""
    monkeypatch.setattr(executor, "WORKER_THREADS", 4)
    target = connect_emulator(slow_emulator, polling_interval=0.02)
    peak: list[int] = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            workers = sum(1 for t in threading.enumerate() if t.name.startswith("apply"))
            peak[0] = max(peak[0], workers)
            stop.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        folder = learn_with(tmp_path, 30)
        outcome = apply(target, folder, parallelism=None)
        assert outcome.result is not None and outcome.result.ok
        assert not plan(target, folder).has_changes
        assert most_at_once(spans(slow_emulator, "VirtualMachines_CreateOrUpdate")) == 20
        assert 0 < peak[0] <= 4 + PREFETCH < 20
    finally:
        stop.set()
        sampler.join()
        target.close()


@pytest.mark.slow  # in CI's slow suite: the default run stays under 5 minutes
def test_parallelism_is_a_ceiling_and_each_vm_is_one_write_with_its_nic(
    tmp_path: Path, slow_emulator: Any
) -> None:
    target = connect_emulator(slow_emulator, polling_interval=0.02)
    try:
        one = learn_with(tmp_path, 1)
        assert apply(target, one).result.ok  # the image first
        assert not plan(target, one).has_changes
        nic_writes = len(spans(slow_emulator, "NetworkInterfaces_CreateOrUpdate"))
        vm_gets = admin(slow_emulator, "stats")["operations"].get("VirtualMachines_Get", 0)
        thirteen = learn_with(tmp_path, 13)
        outcome = apply(target, thirteen, parallelism=3)
        assert outcome.result is not None and outcome.result.ok
        # The 12 new VMs are not read one by one: the plan's list saw them absent, the watcher's
        # lists follow their creates.
        assert admin(slow_emulator, "stats")["operations"].get("VirtualMachines_Get", 0) - vm_gets < 12
        assert not plan(target, thirteen).has_changes
        vm_creates = spans(slow_emulator, "VirtualMachines_CreateOrUpdate")
        assert most_at_once(vm_creates) <= 3
        # Each VM made its own NIC in its create request: no NIC write of their own.
        assert len(spans(slow_emulator, "NetworkInterfaces_CreateOrUpdate")) == nic_writes
        nics = Azure(target).list(r.NIC, "learn-rg")
        assert sum(1 for n in nics if (n["properties"]["vm_id"] or "").count("myVMFromImage")) == 13
    finally:
        target.close()


def gets(emulator: Any) -> int:
    return admin(emulator, "stats")["requests"].get("GET", 0)


def test_no_op_plan_reads_do_not_grow_with_resource_groups(
    tmp_path: Path, target: Target, emulator: Any
) -> None:
    few, many = learn_with(tmp_path, 2, extra_groups=1), learn_with(tmp_path, 2, extra_groups=4)
    assert apply(target, many).result.ok

    before = gets(emulator)
    plan(target, few)  # the extra Deployments beyond the first are undescribed, still listed
    few_reads = gets(emulator) - before

    before = gets(emulator)
    assert not plan(target, many).has_changes
    many_reads = gets(emulator) - before
    assert many_reads == few_reads <= 20


def test_a_burst_of_writes_is_paced_and_never_throttled(tmp_path: Path) -> None:
    # Speed 2: the write bucket refills 20 a second, so 260 writes at once overrun its 200 tokens.
    with start_emulator(tmp_path / "paced", speed=2.0, throttling=True) as emulator:
        target = connect_emulator(emulator, polling_interval=0.02)
        errors: list[BaseException] = []

        def create_groups(first: int) -> None:
            try:
                for i in range(first, first + 26):
                    target.resources.resource_groups.create_or_update(f"burst-{i}", {"location": "eastus"})
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        try:
            threads = [threading.Thread(target=create_groups, args=(i * 26,)) for i in range(10)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stats = admin(emulator, "stats")
        finally:
            target.close()
    assert not errors
    assert stats["throttled"] == 0
    assert stats["requests"].get("PUT", 0) >= 260
