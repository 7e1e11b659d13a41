"""Walk the step graph: independent branches in parallel, each step level-based.

For each step, right before acting, the handler re-observes live and compares
(the same evaluate as planning); then it acts, and the step is verified by
evaluating again until it is a no-op. A failure stops only the step's
dependants; everything else finishes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagepipe import vocabulary as r
from imagepipe.apply import limits
from imagepipe.apply.events import Event, EventSink, discard
from imagepipe.apply.limits import ConcurrencyLimits
from imagepipe.apply.rollout import WaveBarrier, health_gate
from imagepipe.apply.schedule import (
    AUTO_OTHER_STEPS,
    MOST_IMAGE_STEPS,
    WORKER_THREADS,
    HeldSlots,
    Schedule,
    critical_path,
)
from imagepipe.errors import ImagepipeError
from imagepipe.graph.step import Step
from imagepipe.plan.observe import ApplyObserver, LiveObserver
from imagepipe.plan.planner import deletion_address
from imagepipe.plan.rollout import RolloutPlan
from imagepipe.steps.base import Handler
from imagepipe.steps.context import Context
from imagepipe.steps.evaluation import StepFailed
from imagepipe.steps.handlers.deletion import DeletionHandler
from imagepipe.steps.port import Observer, Pending, Provider, ProviderError
from imagepipe.steps.registry import handler_for
from imagepipe.vocabulary import Phase, StepKind

log = logging.getLogger("imagepipe.apply")
Outcome = TypeVar("Outcome")
# A step's work as a generator: it yields each create a watcher follows, and is resumed (or
# thrown the create's error) when that create is final; it returns the step's outcome.
Steps = Generator[Pending, Exception | None, Outcome]

MAX_ROUNDS = 6  # act + verify rounds per step (a wait, then creates, then a verify)
MAX_RETRIES = 5
# A group that vanished or is going: recreate it and try again (never a reason to stop).
GROUP_GONE = frozenset({"ResourceGroupNotFound", "ResourceGroupBeingDeleted"})
DONE = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "action": "finished",
    "delete": "deleted",
}  # retryable Azure errors, on top of azure-core's own request retries


@dataclass
class StepOutcome:
    address: str
    status: str  # "done" (acted), "unchanged", "failed", "skipped"
    action: str = "no-op"
    message: str = ""
    error: dict[str, Any] | None = None


@dataclass
class ApplyResult:
    outcomes: dict[str, StepOutcome] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    rollouts: list[tuple[str, str]] = field(default_factory=list)  # (Deployment, how far its waves went)

    @property
    def failures(self) -> list[StepOutcome]:
        return [o for o in self.outcomes.values() if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for o in self.outcomes.values():
            if o.status == "done":
                bucket = {
                    "create": "created",
                    "update": "changed",
                    "replace": "replaced",
                    "delete": "deleted",
                    "action": "actions",
                }.get(o.action, "actions")
                counts[bucket] += 1
            elif o.status in ("failed", "skipped"):
                counts[o.status] += 1
        return counts

    @property
    def duration(self) -> float:
        return (self.ended or time.monotonic()) - self.started


class Executor:
    def __init__(
        self,
        ctx: Context,
        azure: Provider,
        *,
        parallelism: int | None = None,
        on_event: EventSink = discard,
        only: set[str] | None = None,
        retry_backoff: float = 1.0,
        absent: set[tuple[str, str, str]] | None = None,
        rollouts: list[RolloutPlan] | None = None,
    ):
        self.ctx = ctx
        self.graph = ctx.graph
        self.azure = azure
        self.parallelism = None if parallelism is None else max(1, parallelism)  # None: auto
        self.emit = on_event
        self.only = only
        self.live = ApplyObserver(
            azure, fresh_seconds=max(azure.polling_interval, 0.05), absent=absent or set()
        )
        azure.follow_provisioned(self.live.remember)  # the watchers' lists spare the verifications a GET
        self.plain = LiveObserver(azure)  # deletions are verified by a GET, never a shared read
        self.limits = ConcurrencyLimits()
        self.retry_backoff = retry_backoff
        self.result = ApplyResult()
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        # The plan's rolling replacements; their pauses on the target's clock (an emulator's speed).
        self.waves = WaveBarrier(rollouts or [], float(getattr(azure, "speed", 1.0) or 1.0))
        self._steps: dict[str, Step] = {}
        self._pool: ThreadPoolExecutor  # the graph walk's workers (set by run)

    # ---- the graph walk --------------------------------------------------------------
    def run(self) -> ApplyResult:
        steps = self._steps = {s.address: s for s in self.graph.steps()}
        waiting = {a: set(self.graph.dependencies(a)) for a in steps}
        slots = {a: self._slots_of(step) for a, step in steps.items()}
        schedule = Schedule(critical_path(self.graph), self.limits, slots, self._ceilings(slots))
        events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._events = events
        # Steps in flight may be many more than threads: a VM create waits without one. A step
        # admitted behind a full image source waits for its slot on a thread (at most PREFETCH
        # per source); those threads come on top, so the creates that free the slots can resume.
        sources = {slot.key for step_slots in slots.values() for slot in step_slots if slot.image}
        workers = min(schedule.ceiling, WORKER_THREADS + limits.PREFETCH * len(sources))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
            self._pool = pool

            def release_ready() -> None:
                for address in [a for a, deps in waiting.items() if not deps]:
                    del waiting[address]
                    admission = self.waves.admit(address)
                    if admission == "go":
                        schedule.ready(address)
                    elif admission == "stop":
                        self._not_run(steps[address], self.waves.why_stopped(address), waiting)
                for address in schedule.startable():
                    pool.submit(self._worker, steps[address], slots[address])
                self._say_waves()

            release_ready()
            while schedule.running:
                kind, payload = events.get()
                if kind == "released":  # image slots given back mid-step: parked steps may start
                    schedule.unpark(payload)
                else:
                    address, outcome = payload
                    schedule.finished(address)
                    self.result.outcomes[address] = outcome
                    if outcome.status == "failed":
                        self._skip_dependants(address, steps, waiting)
                    for deps in waiting.values():
                        deps.discard(address)
                    released, stopped = self.waves.finished(address, outcome.status in ("done", "unchanged"))
                    for held in released:
                        schedule.ready(held)
                    for held in stopped:
                        self._not_run(steps[held], self.waves.why_stopped(held), waiting)
                release_ready()
        for held in self.waves.leftovers():  # their wave never opened: an earlier one did not run
            self._not_run(steps[held], "not run: an earlier wave of its rollout did not run", waiting)
        self.result.rollouts = self.waves.summary()
        return self.result

    def _say_waves(self) -> None:
        """A rollout's wave opened (or pauses before it): the progress says so."""
        for deployment, message in self.waves.notices():
            self.emit(Event("wave", deployment, Phase.DEPLOYMENT.value, message=message))

    def _not_run(self, step: Step, message: str, waiting: dict[str, set[str]]) -> None:
        """A step of a rollout that stopped: reported, never run (and neither are its dependants)."""
        self.result.outcomes[step.address] = StepOutcome(step.address, "skipped", message=message)
        self.emit(Event("skipped", step.address, step.phase, message=message))
        self._skip_dependants(step.address, self._steps, waiting)

    def _slots_of(self, step: Step) -> list[limits.Slot]:
        try:
            return limits.slots_of(step, self.ctx)
        except Exception:  # a document the handler will reject with a located message
            log.debug("no concurrency slots for %s", step.address, exc_info=True)
            return []

    def _ceilings(self, slots: dict[str, list[limits.Slot]]) -> tuple[int, int]:
        """(steps in flight, of which without an image slot): --parallelism, else from the images."""
        if self.parallelism is not None:
            return self.parallelism, self.parallelism
        every = [slot for step_slots in slots.values() for slot in step_slots]
        return min(limits.capacity(every), MOST_IMAGE_STEPS) + AUTO_OTHER_STEPS, AUTO_OTHER_STEPS

    def _worker(self, step: Step, slots: list[limits.Slot]) -> None:
        held = HeldSlots(self.limits, slots, self._events)
        self._advance(step, held, self._run_step(step, held), None)

    def _advance(
        self, step: Step, held: HeldSlots, steps: Steps[StepOutcome], error: Exception | None
    ) -> None:
        """Run a step until it ends or hands back a create to follow; then this thread is free,
        and the watcher resumes the step on a pool thread once the create is final."""
        outcome = StepOutcome(step.address, "failed", message="internal error")
        try:
            pending = steps.throw(error) if error is not None else steps.send(None)
        except StopIteration as stop:
            outcome = stop.value
        except Exception as exc:  # the step's own guard turns its errors into outcomes: a bug here
            outcome = self._failure_of(step, exc)
        else:
            pending.watcher.when_final(
                pending.rg, pending.name, lambda err: self._pool.submit(self._advance, step, held, steps, err)
            )
            return
        held.release_all()
        self._events.put(("done", (step.address, outcome)))

    def _skip_dependants(self, failed: str, steps: dict[str, Step], waiting: dict[str, set[str]]) -> None:
        stack = list(self.graph.dependants(failed))
        while stack:
            address = stack.pop()
            if address not in waiting:
                continue
            del waiting[address]
            message = f"not run: {failed} failed"
            self.result.outcomes[address] = StepOutcome(address, "skipped", message=message)
            self.emit(Event("skipped", address, steps[address].phase, message=message))
            stack.extend(self.graph.dependants(address))

    # ---- one step --------------------------------------------------------------------
    def _run_step(self, step: Step, held: HeldSlots | None = None) -> Steps[StepOutcome]:
        upstream_changed = any(
            self.result.outcomes.get(dep) is not None
            and self.result.outcomes[dep].status == "done"
            or dep in self._dirty
            for dep in self.graph.dependencies(step.address)
        )
        if self.only is not None and step.address not in self.only and not upstream_changed:
            return StepOutcome(step.address, "unchanged", message="no change in the plan")
        if upstream_changed:
            with self._lock:
                self._dirty.add(step.address)  # what follows a change is evaluated again, live
        if not self.waves.in_rollout(step.address):
            return (yield from self._guarded_steps(step, self._converging(step, handler_for(step), held)))
        time.sleep(self.waves.delay(step.address))  # the pause between two waves
        return self._guarded(step, lambda: self._rolled(step, held))

    def _rolled(self, step: Step, held: HeldSlots | None) -> StepOutcome:
        """A VM of a rollout: replaced like any step, and healthy before it is done (and its wave
        may end); a disk step of the rollout goes before its VM and has no gate of its own."""
        gate = (
            (lambda: health_gate(step, self.ctx, self.azure)) if step.kind is StepKind.DEPLOYMENT_VM else None
        )
        return self._converge(step, handler_for(step), held, gate=gate)

    def _guarded(self, step: Step, run: Callable[[], Outcome]) -> Outcome | StepOutcome:
        """Run one step; its failure (Azure's, the engine's, or a bug) becomes its outcome."""
        try:
            return run()
        except Exception as exc:
            return self._failure_of(step, exc)

    def _guarded_steps(self, step: Step, steps: Steps[StepOutcome]) -> Steps[StepOutcome]:
        """As _guarded, for a step run as a generator."""
        try:
            return (yield from steps)
        except Exception as exc:
            return self._failure_of(step, exc)

    def _failure_of(self, step: Step, exc: Exception) -> StepOutcome:
        if isinstance(exc, ProviderError):
            return self._failed(step, str(exc), exc.to_json())
        if isinstance(exc, ImagepipeError):
            return self._failed(step, str(exc).removeprefix(f"{step.address}: "))
        # a bug must not take the other branches down
        log.debug("internal error in %s", step.address, exc_info=True)
        return self._failed(step, f"internal error: {type(exc).__name__}: {exc}")

    def _converge(
        self,
        step: Step,
        handler: Handler,
        held: HeldSlots | None = None,
        observer: Observer | None = None,
        gate: Callable[[], None] | None = None,
    ) -> StepOutcome:
        """_converging, waiting in this thread for what it follows."""
        return to_the_end(self._converging(step, handler, held, observer, gate))

    def _converging(
        self,
        step: Step,
        handler: Handler,
        held: HeldSlots | None = None,
        observer: Observer | None = None,
        gate: Callable[[], None] | None = None,
    ) -> Steps[StepOutcome]:
        """Evaluate -> act -> evaluate again until a no-op, retrying Azure's retryable errors;
        ``gate`` (a rollout's health check) must pass before a step that acted is done."""
        obs = observer or self.live
        first_action: str | None = None
        first_reason = ""
        retries = 0
        rounds = 0
        while True:
            ev = handler.evaluate(step, self.ctx, obs)
            change = ev.change
            if change.action == "no-op":
                if first_action is None:
                    return StepOutcome(step.address, "unchanged", "no-op", change.reason)
                if gate is not None:
                    gate()
                said = handler.done_message(first_action)
                self.emit(Event("done", step.address, step.phase, first_action, said or DONE[first_action]))
                return StepOutcome(step.address, "done", first_action, said or first_reason)
            if change.action == "conflict":
                raise StepFailed(step.address, change.reason)
            if rounds >= MAX_ROUNDS:
                raise StepFailed(step.address, f"did not converge: still {change.action}: {change.reason}")
            if first_action is None:
                first_action, first_reason = change.action, change.reason
                self.emit(Event("start", step.address, step.phase, change.action, change.reason))
            rounds += 1
            try:
                if held is None:
                    pending = handler.act(step, ev, self.ctx, self.azure, obs)
                    if pending is not None:
                        yield pending
                else:  # the image's capacity only while Azure creates: the next one starts after
                    held.hold_images()
                    try:
                        pending = handler.act(step, ev, self.ctx, self.azure, obs)
                        if pending is not None:
                            yield pending
                    finally:
                        held.release_images()
                if not step.kind.deployment:
                    self.live.forget()  # it may have changed an image or a gallery version
            except ProviderError as exc:
                # Only a step of the graph relies on groups it can bring back.
                group_gone = exc.code in GROUP_GONE and step.kind is not StepKind.DELETION
                if not (exc.retryable or group_gone) or retries >= MAX_RETRIES:
                    raise
                if group_gone:  # e.g. another stack's destroy removed a group we planned to use
                    self._converge_groups(step)
                retries += 1
                rounds -= 1
                delay = min(self.retry_backoff * 2 ** (retries - 1), 30.0)
                log.debug("%s: retryable %s, again in %.1fs", step.address, exc.code, delay)
                message = (
                    f"retry {retries}/{MAX_RETRIES} in {delay:.0f}s after {exc.code}: {exc.provider_message}"
                )
                self.emit(Event("retry", step.address, step.phase, change.action, message))
                time.sleep(delay)

    def _converge_groups(self, step: Step) -> None:
        """Bring the resource groups the step relies on back (a no-op for those that exist)."""
        seen: set[str] = set()
        todo = list(self.graph.dependencies(step.address))
        while todo:
            address = todo.pop()
            if address in seen:
                continue
            seen.add(address)
            group = self.graph.step(address)
            if group.kind is StepKind.RESOURCE_GROUP:
                self._converge(group, handler_for(group))
            todo.extend(self.graph.dependencies(address))

    def _failed(self, step: Step, message: str, error: dict[str, Any] | None = None) -> StepOutcome:
        self.emit(
            Event("failed", step.address, step.phase, message=message, data={"error": error} if error else {})
        )
        return StepOutcome(step.address, "failed", message=message, error=error)

    # ---- deletions (destroy, prune) -----------------------------------------------------
    def delete_all(self, records: list[r.Record]) -> ApplyResult:
        """Delete owned resources rank by rank (what uses a resource first), each rank in parallel."""
        by_rank: dict[int, list[r.Record]] = {}
        for rec in records:
            by_rank.setdefault(r.delete_rank(rec["type"]), []).append(rec)
        workers = self.parallelism or AUTO_OTHER_STEPS
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delete") as pool:
            for rank in sorted(by_rank):
                outcomes = list(pool.map(self._delete_one, by_rank[rank]))
                for rec, outcome in zip(by_rank[rank], outcomes, strict=True):
                    self.result.outcomes[rec["id"]] = outcome  # several resources may share an address
        return self.result

    def _delete_one(self, rec: r.Record) -> StepOutcome:
        """One deletion, converged like any step: delete, verify it is gone, retry what Azure may."""
        address = deletion_address(rec)
        step = Step(address, address, "delete", StepKind.DELETION)
        if r.is_type(rec, r.RESOURCE_GROUP):
            kept = self._guarded(step, lambda: self._group_kept(step, rec["name"]))
            if kept is not None:  # kept, or the check failed
                return kept
        outcome = self._guarded(step, lambda: self._converge(step, DeletionHandler(rec), observer=self.plain))
        if outcome.status == "failed":
            outcome.action = "delete"
        return outcome

    def _group_kept(self, step: Step, name: str) -> StepOutcome | None:
        """A group the stack owns that holds what it does not own is never deleted."""
        if self.azure.group_is_empty(name):
            return None
        message = f"resource group {name} is not empty: kept"
        self.emit(Event("done", step.address, step.phase, "no-op", message))
        return StepOutcome(step.address, "unchanged", "no-op", message)


def to_the_end(steps: Steps[Outcome]) -> Outcome:
    """Drive a step's generator in this thread: wait for each create it follows, then resume it."""
    try:
        pending = next(steps)
        while True:
            try:
                pending.watcher.wait(pending.rg, pending.name)
            except Exception as exc:
                pending = steps.throw(exc)
            else:
                pending = steps.send(None)
    except StopIteration as stop:
        return stop.value
