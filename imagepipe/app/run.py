"""apply, apply of a saved plan, and destroy: plan, check, confirm, execute."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from imagepipe.app.session import Session
from imagepipe.apply.events import EventSink, discard
from imagepipe.apply.executor import ApplyResult, Executor
from imagepipe.apply.lock import hold_stack
from imagepipe.errors import ConflictError, StalePlanError
from imagepipe.plan.model import Plan, plan_differences, specset_fingerprint
from imagepipe.plan.planner import PlanResult, make_destroy_plan, make_plan

Confirm = Callable[[Plan], bool]


@dataclass
class RunOutcome:
    plan: Plan
    result: ApplyResult | None = None  # None when nothing ran (no changes, or not confirmed)
    confirmed: bool = True
    notes: list[str] = field(default_factory=list)


def totals_of(plan: Plan, graph_phase: Callable[[str], str]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for change in plan.changes:
        if change.is_change:
            phase = "delete" if change.action == "delete" else graph_phase(change.address)
            totals[phase] = totals.get(phase, 0) + 1
    return totals


def _phase_of(session: Session) -> Callable[[str], str]:
    def phase(address: str) -> str:
        graph = session.graph
        return graph.step(address).phase if graph is not None and address in graph else "delete"

    return phase


def _lock_region(session: Session) -> str:
    """Where the stack's lock record lives: the Stack's region, else the first document's."""
    regions = [session.specset.stack.location_name] + [
        getattr(doc, "location_name", None) for doc in session.specset.documents.values()
    ]
    return next((region for region in regions if region), "eastus")


def _hold(session: Session, command: str) -> AbstractContextManager[object]:
    """The stack's lock for ``command``, waiting up to the session's --lock-timeout."""
    stack, region = session.specset.name, _lock_region(session)
    return hold_stack(
        session.target, stack, region, command, timeout=session.lock_timeout, on_wait=session.notice
    )


def check_secrets(session: Session, plan: Plan) -> None:
    """Fail before changing anything when a secret a change needs cannot be read (SecretError, located)."""
    documents = {c.document for c in plan.changes if c.is_change}
    for ref in sorted(documents):
        doc = session.specset.documents.get(ref)
        holders = [doc, getattr(doc, "create", None)]
        for holder in holders:
            for attr in ("ssh_public_key", "admin_password"):
                secret = getattr(holder, attr, None)
                if secret is not None:
                    secret.reveal()  # the value is dropped at once; only its absence matters here


def refuse_conflicts(plan: Plan) -> None:
    if plan.conflicts:
        first = plan.conflicts[0]
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        raise ConflictError(f"{first.address}: {first.reason}{more}")


def apply_specs(
    session: Session,
    *,
    prune: bool = False,
    parallelism: int | None = None,
    show_plan: Callable[[Plan], None] = lambda plan: None,
    confirm: Confirm = lambda plan: True,
    on_event: EventSink = discard,
    on_start: Callable[[dict[str, int]], None] = lambda totals: None,
    planned: PlanResult | None = None,
) -> RunOutcome:
    """Take the stack's lock, then plan (unless given a plan), show, confirm and execute.

    The lock comes first: a plan made while another run changes the stack could say
    "No changes" about resources that run is deleting."""
    with _hold(session, "apply"):
        planned = planned or make_plan(
            session.specset, session.graph, session.azure, paths=session.paths, prune=prune
        )
        show_plan(planned.plan)
        return _execute(
            session, planned, parallelism=parallelism, confirm=confirm, on_event=on_event, on_start=on_start
        )


def _execute(
    session: Session,
    planned: PlanResult,
    *,
    parallelism: int | None,
    confirm: Confirm = lambda plan: True,
    on_event: EventSink,
    on_start: Callable[[dict[str, int]], None],
    only: set[str] | None = None,
) -> RunOutcome:
    """Run a plan's changes; the caller holds the stack's lock."""
    plan = planned.plan
    refuse_conflicts(plan)
    if not plan.has_changes:
        return RunOutcome(plan)
    check_secrets(session, plan)
    if not confirm(plan):
        return RunOutcome(plan, confirmed=False)
    if only is None:  # steps the plan found up to date are not read again
        only = {c.address for c in plan.changes if c.is_change}
    executor = Executor(
        planned.context,
        session.azure,
        parallelism=parallelism,
        on_event=on_event,
        only=only,
        absent=planned.absent_vms(),
        rollouts=plan.rollouts,
    )
    on_start(totals_of(plan, _phase_of(session)))
    result = executor.run()
    if planned.deletions and result.ok:
        executor.delete_all(planned.deletions)
    result.ended = time.monotonic()
    return RunOutcome(plan, result)


def check_saved_plan(saved: Plan, session: Session) -> PlanResult:
    """Re-observe and refuse a plan whose specs or observed state changed since it was made."""
    if saved.subscription != session.azure.subscription_id:
        raise StalePlanError(
            f"the plan was made for subscription {saved.subscription}, not {session.azure.subscription_id}"
        )
    if saved.stack != session.specset.name:
        raise StalePlanError(
            f"the plan is for stack {saved.stack}, the specs are stack {session.specset.name}"
        )
    if specset_fingerprint(session.specset) != saved.spec_fingerprint:
        raise StalePlanError("the specs changed since the plan was made: plan again")
    fresh = make_plan(session.specset, session.graph, session.azure, paths=saved.paths, prune=saved.prune)
    differences = plan_differences(saved, fresh.plan)
    if differences:
        shown = "; ".join(differences[:5]) + (
            f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        )
        raise StalePlanError(f"the plan is stale, plan again: {shown}")
    return fresh


def apply_saved_plan(
    saved: Plan,
    session: Session,
    *,
    parallelism: int | None = None,
    on_event: EventSink = discard,
    on_start: Callable[[dict[str, int]], None] = lambda totals: None,
) -> RunOutcome:
    with _hold(session, "apply"):
        fresh = check_saved_plan(saved, session)
        only = {c.address for c in saved.changes if c.is_change}
        return _execute(
            session, fresh, parallelism=parallelism, on_event=on_event, on_start=on_start, only=only
        )


def destroy(
    session: Session,
    *,
    parallelism: int = 10,
    show_plan: Callable[[Plan], None] = lambda plan: None,
    confirm: Confirm = lambda plan: True,
    on_event: EventSink = discard,
    on_start: Callable[[dict[str, int]], None] = lambda totals: None,
) -> RunOutcome:
    with _hold(session, "destroy"):
        planned = make_destroy_plan(session.specset, session.graph, session.azure, paths=session.paths)
        plan = planned.plan
        if plan.changes or plan.outside or plan.collisions:  # something to delete or to report
            show_plan(plan)
        if not plan.changes:
            return RunOutcome(plan)
        if not confirm(plan):
            return RunOutcome(plan, confirmed=False)
        executor = Executor(planned.context, session.azure, parallelism=parallelism, on_event=on_event)
        on_start({"delete": len(plan.changes)})
        result = executor.delete_all(planned.deletions)
    result.ended = time.monotonic()
    return RunOutcome(plan, result)
