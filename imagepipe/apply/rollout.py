"""The executor's side of a rolling replacement: a wave barrier per Deployment and the health gate.

The plan says which VM steps form which wave (plan/rollout.py). A wave's steps start only
when every step of the wave before ended and its new VMs are healthy (provisioned, running,
the health check passed), and not before the pause after it. A wave that fails stops the
rollout: the later waves are not run. Nothing of this is kept locally: the next plan reads
which VMs are on the new image and the rest continue in waves.

The pause runs on the target's clock: an emulator at ``--speed`` N pauses N times shorter on
the wall, as it runs every operation (Azure's speed is 1).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.plan.estimate import duration_text
from imagepipe.plan.rollout import RolloutPlan
from imagepipe.steps.context import TAG_HEALTH, UNHEALTHY, Context
from imagepipe.steps.evaluation import StepFailed
from imagepipe.steps.port import Provider, ProviderError
from imagepipe.steps.waits import every, until, verify_run_command

log = logging.getLogger("imagepipe.apply")

HEALTH_COMMAND = "imagepipe-health"  # the Run Command resource that runs the health check on a VM
RUNNING_TIMEOUT_S = 600.0  # a new VM must be running this long after its create at the latest

Admission = Literal["go", "hold", "stop"]


@dataclass
class _Progress:
    plan: RolloutPlan
    wave: int = 0  # 0-based index of the open wave
    pending: set[str] = field(default_factory=set)  # steps of the open wave not ended yet
    held: list[str] = field(default_factory=list)  # ready steps of later waves
    not_before: float = 0.0  # monotonic time the open wave may act (the pause after the last)
    stopped: str = ""  # why the rollout stopped ("" while it goes on)

    @property
    def label(self) -> str:
        return self.plan.wave_text(self.wave + 1)


class WaveBarrier:
    """The waves of every rollout of one apply (admit/finished from the walking thread only;
    delay from the workers)."""

    def __init__(self, rollouts: list[RolloutPlan], speed: float = 1.0):
        self._of: dict[str, _Progress] = {}
        self._speed = speed if speed > 0 else 1.0  # the target's time scale (emulator --speed)
        self._notices: list[tuple[str, str]] = []  # (Deployment, what its rollout does now)
        self._progress: list[_Progress] = []
        for plan in rollouts:
            if not plan.waves:
                continue
            progress = _Progress(plan, pending=set(plan.waves[0]))
            self._progress.append(progress)
            self._notices.append((plan.deployment, progress.label))
            for wave in plan.waves:
                for address in wave:
                    self._of[address] = progress

    def notices(self) -> list[tuple[str, str]]:
        """What the rollouts did since the last call: (Deployment, 'wave 2 of 4 (...): pausing 5 min before it')."""
        out, self._notices = self._notices, []
        return out

    def summary(self) -> list[tuple[str, str]]:
        """(Deployment, how far its rollout went) for the apply's summary."""
        out = []
        for progress in self._progress:
            total = len(progress.plan.waves)
            if progress.stopped:
                out.append((progress.plan.deployment, f"stopped: {progress.stopped.split(': ', 1)[-1]}"))
            elif progress.wave >= total:
                out.append((progress.plan.deployment, f"{total} of {total} waves done"))
            else:
                out.append((progress.plan.deployment, f"{progress.wave} of {total} waves done"))
        return out

    def in_rollout(self, address: str) -> bool:
        return address in self._of

    def admit(self, address: str) -> Admission:
        """A ready step: start it now, hold it until its wave opens, or never run it."""
        progress = self._of.get(address)
        if progress is None or address in progress.pending:
            return "go"
        if progress.stopped:
            return "stop"
        progress.held.append(address)
        return "hold"

    def why_stopped(self, address: str) -> str:
        return self._of[address].stopped

    def finished(self, address: str, ok: bool) -> tuple[list[str], list[str]]:
        """A step ended: (steps now released, held steps never to run)."""
        progress = self._of.get(address)
        if progress is None or address not in progress.pending:
            return [], []
        progress.pending.discard(address)
        if not ok and not progress.stopped:
            wave = progress.wave + 1
            progress.stopped = (
                f"the rollout of {progress.plan.deployment} stopped: wave {wave} of "
                f"{len(progress.plan.waves)} failed ({address.rsplit('/', 1)[-1]})"
            )
        if progress.pending:
            return [], []
        if progress.stopped:
            skipped, progress.held = progress.held, []
            return [], skipped
        return self._open_next(progress), []

    def _open_next(self, progress: _Progress) -> list[str]:
        progress.wave += 1
        if progress.wave >= len(progress.plan.waves):
            return []
        progress.pending = set(progress.plan.waves[progress.wave])
        pause = progress.plan.pause_seconds
        progress.not_before = time.monotonic() + pause / self._speed
        said = f"{progress.label}: pausing {duration_text(pause)} before it" if pause else progress.label
        self._notices.append((progress.plan.deployment, said))
        released = [a for a in progress.held if a in progress.pending]
        progress.held = [a for a in progress.held if a not in progress.pending]
        return released

    def leftovers(self) -> list[str]:
        """Held steps whose wave never opened (an earlier one was skipped): reported as not run."""
        seen = {id(p): p for p in self._of.values()}
        return [a for p in seen.values() for a in p.held]

    def delay(self, address: str) -> float:
        """Wall seconds the step waits before acting: the pause between two waves, on the target's clock."""
        progress = self._of.get(address)
        return max(0.0, progress.not_before - time.monotonic()) if progress else 0.0

    def wave_of(self, address: str) -> str:
        """'wave 2 of 4' of a step of a rollout ("" for any other step)."""
        progress = self._of.get(address)
        if progress is None:
            return ""
        number = progress.plan.wave_of(address) or 0
        return f"wave {number} of {len(progress.plan.waves)}"


def health_gate(step: Step, ctx: Context, azure: Provider) -> None:
    """A replaced VM of a rollout: provisioned and running, then its health check exits 0 in time."""
    deployment = ctx.deployment(step.document)
    rg, name = deployment.resource_group, deployment.vm_name(step.index or 0)

    def running() -> r.Record | None:
        vm = azure.get(r.VM, rg, name)
        if vm is None:
            raise StepFailed(step.address, f"VM {name} vanished before it was healthy")
        state = (vm.get("provisioning_state") or "").lower()
        if state == "failed":
            raise StepFailed(step.address, f"VM {name} failed to provision")
        return vm if state == "succeeded" and vm.get("power_state") == "running" else None

    vm = until(
        running,
        interval=every(azure),
        timeout=RUNNING_TIMEOUT_S,
        address=step.address,
        timed_out=lambda: f"VM {name} is not running {RUNNING_TIMEOUT_S:g}s after its create",
    )
    check = deployment.rollout.health_check
    if check is None:
        return
    azure.run_command(rg, name, HEALTH_COMMAND, vm["location"], check.script)  # followed below

    def ended() -> r.Record | None:
        rc = azure.get_run_command(rg, name, HEALTH_COMMAND)
        state = (rc or {}).get("properties", {}).get("execution_state")
        return rc if rc is not None and state not in ("Running", "Pending", None) else None

    try:
        rc = until(
            ended,
            interval=every(azure),
            timeout=check.timeout_seconds,
            address=step.address,
            timed_out=lambda: f"health check on {name} did not finish within {check.timeout_seconds:g}s",
        )
        verify_run_command(step.address, rc, f"health check on {name}")
    except StepFailed:
        _mark_unhealthy(azure, rg, name)
        raise


def _mark_unhealthy(azure: Provider, rg: str, name: str) -> None:
    """Tag the VM, so that the next plan checks it again before the rollout goes on (it is on
    the new image: without the tag it would count as done)."""
    try:
        vm = azure.get(r.VM, rg, name)
        if vm is not None and vm["tags"].get(TAG_HEALTH) != UNHEALTHY:
            azure.update_tags(r.VM, rg, name, {**vm["tags"], TAG_HEALTH: UNHEALTHY}).wait()
    except ProviderError as exc:  # the health check's failure is what the step reports
        log.warning("could not tag VM %s as unhealthy: %s", name, exc)
