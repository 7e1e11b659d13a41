"""Rolling replacement of a VM fleet: which of a Deployment's VMs are replaced in which wave.

Decided from the plan's changes, that is from what exists in Azure (the VMs' image and
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
    waves: list[list[str]] = field(default_factory=list)

    @property
    def replacing(self) -> int:
        return sum(len(wave) for wave in self.waves)

    def wave_of(self, address: str) -> int | None:
        """1-based wave number of a VM step, None when it is not part of the rollout."""
        return next((i for i, wave in enumerate(self.waves, 1) if address in wave), None)

    @property
    def seconds(self) -> float:
        """Azure time of the rollout: its waves one after another, each a VM delete, a create
        and the health check, with the pauses between them."""
        per_wave = DURATIONS[StepKind.DELETION] + VM_CREATE + (HEALTH_CHECK if self.health_check else 0.0)
        return len(self.waves) * per_wave + max(0, len(self.waves) - 1) * self.pause_seconds

    def describe(self) -> str:
        """'replace 8 VMs in 4 waves of 2 (at most 2 of 8 down at once)'."""
        n = len(self.waves)
        sizes = sorted({len(w) for w in self.waves}, reverse=True)
        of = f"of {sizes[0]}" if len(sizes) == 1 else f"of at most {sizes[0]}"
        pause = f", {self.pause_seconds:g}s between waves" if self.pause_seconds else ""
        health = ", health check on each new VM" if self.health_check else ""
        return (
            f"replace {self.replacing} VMs in {n} wave{'s' if n != 1 else ''} {of}, "
            f"about {duration_text(self.seconds)} "
            f"(at most {self.max_unavailable} of {self.count} down at once{pause}{health})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "count": self.count,
            "maxUnavailable": self.max_unavailable,
            "pauseBetweenWavesSeconds": self.pause_seconds,
            "healthCheck": self.health_check,
            "waves": [list(wave) for wave in self.waves],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RolloutPlan:
        return cls(
            deployment=str(data["deployment"]),
            count=int(data["count"]),
            max_unavailable=int(data["maxUnavailable"]),
            pause_seconds=float(data.get("pauseBetweenWavesSeconds", 0.0)),
            health_check=bool(data.get("healthCheck", False)),
            waves=[[str(a) for a in wave] for wave in data.get("waves", [])],
        )


def plan_rollouts(specset: SpecSet, graph: StepGraph, changes: list[Change]) -> list[RolloutPlan]:
    """One RolloutPlan per VM Deployment with at least one VM to replace.

    A VM that is absent (a create) is already down: when the Deployment also has VMs to
    replace, it counts against maxUnavailable and goes first (bringing capacity back first).
    A fleet with only creates (its first apply) is not a rollout and fans out at full speed.
    """
    by_address = {c.address: c for c in changes}
    rollouts = []
    for doc in specset.of_kind("Deployment"):
        assert isinstance(doc, Deployment)
        if doc.mode != "vms":
            continue
        steps = [
            s for s in graph.steps_of(doc.ref) if s.kind is StepKind.DEPLOYMENT_VM and s.address in by_address
        ]
        steps.sort(key=lambda s: s.index or 0)
        replaced = [s.address for s in steps if by_address[s.address].action == "replace"]
        if not replaced:
            continue
        absent = [s.address for s in steps if by_address[s.address].action == "create"]
        size = doc.rollout.wave_size(doc.count)
        order = absent + replaced
        rollouts.append(
            RolloutPlan(
                deployment=doc.ref,
                count=doc.count,
                max_unavailable=size,
                pause_seconds=doc.rollout.pause_seconds,
                health_check=doc.rollout.health_check is not None,
                waves=[order[i : i + size] for i in range(0, len(order), size)],
            )
        )
    return rollouts
