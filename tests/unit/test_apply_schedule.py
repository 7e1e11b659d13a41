"""The ready queue of apply: image capacity, the --parallelism ceiling and critical-path order."""

from __future__ import annotations

import queue
from types import SimpleNamespace
from typing import Any

from imagepipe.apply.limits import PREFETCH, ConcurrencyLimits, Slot
from imagepipe.apply.schedule import HeldSlots, Schedule, critical_path
from imagepipe.vocabulary import StepKind

IMAGE = Slot("image:/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/web", 20, True)


class Chain:
    """vnet -> nic[i] -> vm[i], like a Deployment's steps."""

    def __init__(self, count: int):
        self.nics = [f"Deployment/web/nic[{i}]" for i in range(count)]
        self.vms = [f"Deployment/web/vm[{i}]" for i in range(count)]
        self.kinds = {"VirtualNetwork/rg/net": StepKind.VIRTUAL_NETWORK}
        self.kinds |= {a: StepKind.SOURCE_NIC for a in self.nics} | {
            a: StepKind.DEPLOYMENT_VM for a in self.vms
        }

    def steps(self) -> list[SimpleNamespace]:
        order = ["VirtualNetwork/rg/net", *self.nics, *self.vms]
        return [SimpleNamespace(address=a, kind=self.kinds[a]) for a in order]

    def dependants(self, address: str) -> list[str]:
        if address.startswith("VirtualNetwork/"):
            return list(self.nics)
        if address in self.nics:
            return [self.vms[self.nics.index(address)]]
        return []

    def schedule(self, ceilings: tuple[int, int] = (1000, 64)) -> Schedule:
        slots = {a: [IMAGE] if a in self.vms else [] for a in self.kinds}
        return Schedule(critical_path(self), ConcurrencyLimits(), slots, ceilings)


def test_a_managed_image_gets_twenty_creates_at_once_and_a_few_more_steps_get_ready() -> None:
    chain = Chain(40)
    schedule = chain.schedule()
    for vm in chain.vms:
        schedule.ready(vm)
    started = schedule.startable()
    assert len(started) == 20 + PREFETCH  # the extra ones evaluate while the image is busy
    assert schedule.startable() == []  # the rest wait parked, not on a thread
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    held = [HeldSlots(schedule.limits, [IMAGE], events) for _ in started]
    for slots in held[:20]:
        slots.hold_images()
    assert schedule.limits.try_acquire([IMAGE]) == IMAGE.key  # the 21st create must wait
    held[0].release_images()  # a create ended: the next create may go
    assert schedule.limits.try_acquire([IMAGE]) is None
    held[0].release_all()  # the step ended: one more step is admitted
    schedule.finished(started[0])
    assert len(schedule.startable()) == 1


def test_a_ready_vm_goes_before_the_next_nic() -> None:
    chain = Chain(10)
    schedule = chain.schedule(ceilings=(3, 3))
    for nic in chain.nics:
        schedule.ready(nic)
    assert schedule.startable() == chain.nics[:3]
    schedule.finished(chain.nics[0])
    schedule.ready(chain.vms[0])
    assert schedule.startable() == [chain.vms[0]]


def test_parallelism_caps_everything_in_flight() -> None:
    chain = Chain(30)
    schedule = chain.schedule(ceilings=(5, 5))
    for address in chain.vms + chain.nics:
        schedule.ready(address)
    assert len(schedule.startable()) == 5


def test_the_longest_remaining_path_counts_a_vm_as_the_slow_part() -> None:
    path = critical_path(Chain(2))
    assert path["Deployment/web/vm[0]"] == 60.0
    assert path["Deployment/web/nic[0]"] > path["Deployment/web/vm[0]"]
    assert path["VirtualNetwork/rg/net"] > path["Deployment/web/nic[0]"]
