"""Rolling replacement of a VM fleet: which of a Deployment's VMs are replaced in which wave.

Every change that takes a VM down rolls: a replacement (a new image, or any setting that cannot
change in place), a resize (Azure restarts the VM), and for a Deployment restored from a
specialized capture, disks made again from other snapshots (the VM goes first, its disk step
and its VM are in one wave). Decided from the plan's changes, that is from what exists in Azure (the VMs' image and
hash tags), never from local state: an apply that stopped (a failed wave, a kill) is
resumed by the next plan, where the VMs already on the new image are no-ops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imagepipe.graph.stepgraph import StepGraph
from imagepipe.plan.estimate import DURATIONS, VM_CREATE, duration_text
from imagepipe.spec.model import Deployment, SpecSet
from imagepipe.steps.change import Change
from imagepipe.steps.context import TAG_HEALTH, UNHEALTHY
from imagepipe.vocabulary import StepKind

HEALTH_CHECK = 20.0  # a Run Command on the new VM


@dataclass
class RolloutPlan:
    """The waves of one Deployment: each a list of VM step addresses, replaced together."""

    deployment: str  # "Deployment/x"
    count: int
    max_unavailable: int  # VMs, resolved from N or N%
    pause_seconds: float = 0.0
    health_check: bool = False
    waves: list[list[str]] = field(default_factory=list)  # step addresses: VMs and their disk steps
    resized: list[str] = field(default_factory=list)  # VM steps resized in place (the rest are replaced)
    rechecked: list[str] = field(default_factory=list)  # VM steps whose failed health check runs again

    @property
    def replacing(self) -> int:
        """VMs of the rollout (a disk step travels with its VM and is not counted)."""
        return sum(len(vms_of(wave)) for wave in self.waves)

    def wave_of(self, address: str) -> int | None:
        """1-based wave number of a VM step, None when it is not part of the rollout."""
        return next((i for i, wave in enumerate(self.waves, 1) if address in wave), None)

    @property
    def seconds(self) -> float:
        """Azure time of the rollout: its waves one after another, each a VM delete, a create
        and the health check, with the pauses between them."""
        per_wave = DURATIONS[StepKind.DELETION] + VM_CREATE + (HEALTH_CHECK if self.health_check else 0.0)
        # A resize restarts the VM: shorter than a replacement, which bounds it.
        return len(self.waves) * per_wave + max(0, len(self.waves) - 1) * self.pause_seconds

    def describe(self) -> str:
        """'replace 8 VMs in 4 waves of 2 (at most 2 of 8 down at once)', 'resize 6 VMs ...'."""
        n = len(self.waves)
        sizes = sorted({len(vms_of(w)) for w in self.waves}, reverse=True)
        of = f"of {sizes[0]}" if len(sizes) == 1 else f"of at most {sizes[0]}"
        pause = f", {duration_text(self.pause_seconds)} between waves" if self.pause_seconds else ""
        health = ", health check on each new VM" if self.health_check else ""
        return (
            f"{self._what()} in {n} wave{'s' if n != 1 else ''} {of}, "
            f"about {duration_text(self.seconds)} "
            f"(at most {self.max_unavailable} of {self.count} down at once{pause}{health})"
        )

    def to_json(self) -> dict[str, Any]:
        return (
            {
                "deployment": self.deployment,
                "count": self.count,
                "maxUnavailable": self.max_unavailable,
                "pauseBetweenWavesSeconds": self.pause_seconds,
                "healthCheck": self.health_check,
                "waves": [list(wave) for wave in self.waves],
            }
            | ({"resized": list(self.resized)} if self.resized else {})
            | ({"rechecked": list(self.rechecked)} if self.rechecked else {})
        )

    def _what(self) -> str:
        resized, rechecked = len(self.resized), len(self.rechecked)
        replaced = self.replacing - resized - rechecked
        parts = [
            f"{verb} {n}"
            for verb, n in (("replace", replaced), ("resize", resized), ("check again", rechecked))
            if n
        ]
        return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + " VMs"

    def wave_text(self, wave: int) -> str:
        """'wave 2 of 4 (vm[2], vm[3])': a wave as the apply's progress names it (1-based)."""
        names = ", ".join(a.rsplit("/", 1)[-1] for a in vms_of(self.waves[wave - 1]))
        return f"wave {wave} of {len(self.waves)} ({names})"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RolloutPlan:
        return cls(
            deployment=str(data["deployment"]),
            count=int(data["count"]),
            max_unavailable=int(data["maxUnavailable"]),
            pause_seconds=float(data.get("pauseBetweenWavesSeconds", 0.0)),
            health_check=bool(data.get("healthCheck", False)),
            waves=[[str(a) for a in wave] for wave in data.get("waves", [])],
            resized=[str(a) for a in data.get("resized", [])],
            rechecked=[str(a) for a in data.get("rechecked", [])],
        )


def vms_of(wave: list[str]) -> list[str]:
    return [a for a in wave if "/vm[" in a]


def takes_vm_down(change: Change) -> bool:
    """A replacement, or a resize (Azure restarts a VM to change its size)."""
    if change.action == "replace":
        return True
    if change.action != "update":
        return False
    before = ((change.before or {}).get("properties") or {}).get("size") or ""
    after = ((change.after or {}).get("properties") or {}).get("size") or ""
    return bool(before and after) and before.lower() != after.lower()


def unhealthy(change: Change | None) -> bool:
    """A VM whose health check failed in an earlier apply (tagged): already down, checked again
    in the first wave, before any other VM of the Deployment goes down."""
    tags = ((change.before or {}).get("tags") or {}) if change is not None else {}
    return change is not None and change.is_change and tags.get(TAG_HEALTH) == UNHEALTHY


def plan_rollouts(specset: SpecSet, graph: StepGraph, changes: list[Change]) -> list[RolloutPlan]:
    """One RolloutPlan per VM Deployment with at least one VM to take down.

    A VM that is absent (a create) is already down: when the Deployment also has VMs to
    take down, it counts against maxUnavailable and goes first (bringing capacity back first).
    A fleet with only creates (its first apply) is not a rollout and fans out at full speed.
    """
    by_address = {c.address: c for c in changes}
    rollouts = []
    for doc in specset.of_kind("Deployment"):
        assert isinstance(doc, Deployment)
        if doc.mode != "vms":
            continue
        per_index: dict[int, dict[StepKind, Change]] = {}
        for step in graph.steps_of(doc.ref):
            if (
                step.kind in (StepKind.DEPLOYMENT_VM, StepKind.DEPLOYMENT_DISKS)
                and step.address in by_address
            ):
                per_index.setdefault(step.index or 0, {})[step.kind] = by_address[step.address]
        absent: list[list[str]] = []
        down: list[list[str]] = []
        resized: list[str] = []
        rechecked: list[str] = []
        for _, of_index in sorted(per_index.items()):
            vm, disks = of_index.get(StepKind.DEPLOYMENT_VM), of_index.get(StepKind.DEPLOYMENT_DISKS)
            if vm is None:
                continue
            # The disk step goes with its VM: it deletes the VM before it makes the disks again.
            group = [c.address for c in (disks, vm) if c is not None and c.is_change]
            if vm.action == "create" or unhealthy(vm):
                absent.append(group)
                if vm.action != "create":
                    rechecked.append(vm.address)
            elif takes_vm_down(vm) or (disks is not None and disks.action == "replace"):
                down.append(group)
                if vm.action == "update":
                    resized.append(vm.address)
        if not down and not any(unhealthy(of.get(StepKind.DEPLOYMENT_VM)) for of in per_index.values()):
            continue
        size = doc.rollout.wave_size(doc.count)
        order = absent + down
        rollouts.append(
            RolloutPlan(
                deployment=doc.ref,
                count=doc.count,
                max_unavailable=size,
                pause_seconds=doc.rollout.pause_seconds,
                health_check=doc.rollout.health_check is not None,
                waves=[sum(order[i : i + size], []) for i in range(0, len(order), size)],
                resized=resized,
                rechecked=rechecked,
            )
        )
    return rollouts
