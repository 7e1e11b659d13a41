"""Compare observed with desired: the Evaluation a step's ``evaluate`` returns, and the common
compare of a resource imagepipe owns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imagepipe import vocabulary as r
from imagepipe.errors import ImagepipeError
from imagepipe.graph.step import Step
from imagepipe.steps.change import Change, digest
from imagepipe.steps.context import TAG_HASH, TAG_SPEC, TAG_STACK, Context, other_stack, user_tags
from imagepipe.steps.port import Observer

TRANSITIONAL = frozenset({"creating", "updating", "deleting", "migrating"})


class StepFailed(ImagepipeError):
    """A step could not reach its desired state; the message is the root cause."""

    def __init__(self, address: str, message: str, detail: dict[str, Any] | None = None):
        self.address = address
        self.detail = detail or {}
        super().__init__(f"{address}: {message}")


@dataclass
class Evaluation:
    change: Change
    desired: r.Record | None = None
    observed: r.Record | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def display(record: r.Record | None) -> dict[str, Any] | None:
    """A record as a plan shows it: secrets by reference, no SDK objects."""
    if record is None:
        return None

    def clean(value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:  # most of a record: no need to ask for describe()
            return value
        if kind is dict:
            return {k: clean(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [clean(v) for v in value]
        if hasattr(value, "describe"):
            return value.describe()
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    out = {
        k: record.get(k) for k in ("name", "resource_group", "location", "tags", "properties") if k in record
    }
    for extra in ("provisioning_state", "power_state", "os_state"):
        if record.get(extra):
            out[extra] = record[extra]
    return clean(out)


def observed_fingerprint(record: r.Record | None) -> str:
    if record is None:
        return "absent"
    return digest(
        {
            k: record.get(k)
            for k in ("id", "tags", "provisioning_state", "power_state", "os_state", "properties")
        }
    )


def change_of(
    step: Step,
    action: str,
    reason: str,
    desired: r.Record | None = None,
    observed: r.Record | None = None,
    resource_id: str | None = None,
    **extra: Any,
) -> Evaluation:
    rid = resource_id or (observed or {}).get("id") or (desired or {}).get("id")
    change = Change(
        action=action,  # type: ignore[arg-type]
        address=step.address,
        reason=reason,
        document=step.document,
        resource_id=rid,
        before=display(observed),
        after=display(desired) if action not in ("no-op", "action", "delete") else None,
        observed=observed_fingerprint(observed),
    )
    return Evaluation(change, desired, observed, dict(extra))


def compare_resource(
    step: Step,
    ctx: Context,
    desired: r.Record,
    observed: r.Record | None,
    immutable: list[str],
    mutable: list[str],
    noun: str,
) -> Evaluation:
    """The common compare of a resource imagepipe owns: create, wait, conflict, replace, update or no-op.

    ``immutable``/``mutable`` name the observable properties that differ; a change
    of the hash alone (an unobservable input changed) is an update of the tags.
    """
    desired["id"] = ctx.resource_id(desired["type"], desired["resource_group"], desired["name"])
    label = f"{noun} {desired['name']}"
    if observed is None:
        return change_of(step, "create", f"{label} does not exist", desired, None)
    if not ctx.owns(observed):
        whose = other_stack(observed)
        hint = (
            f"; this stack is {ctx.stack} (at {ctx.specset.identity}): give one of the two a Stack "
            f"document with its own metadata.name"
            if observed["tags"].get(TAG_STACK) == ctx.stack
            else ""
        )
        return change_of(
            step,
            "conflict",
            f"{label} exists but belongs to {whose}{hint}; it is never adopted or changed: "
            f"rename it in the spec or remove it",
            desired,
            observed,
        )
    if not ctx.owns(observed, desired["tags"].get(TAG_SPEC)):
        return change_of(
            step,
            "conflict",
            f"{label} exists but belongs to {observed['tags'][TAG_SPEC]} of this stack, not to "
            f"{step.address}; it is never adopted, replaced or deleted by another step: "
            f"rename it in the spec or remove it",
            desired,
            observed,
        )
    state = (observed.get("provisioning_state") or "").lower()
    if state in TRANSITIONAL:
        return change_of(
            step,
            "create",
            f"{label} is still {observed['provisioning_state']}: apply waits for it",
            desired,
            observed,
            wait=True,
        )
    if state == "failed":
        # An owned resource left Failed is recreated, whatever the code: a fatal cause (quota,
        # policy) may have been fixed since, and if not, the new attempt reports it again.
        error = observed.get("error") or {}
        code = error.get("code") or "unknown error"
        why = code if error.get("retryable") or not error else f"{code}: {error.get('message', '')}"
        return change_of(
            step, "replace", f"{label} failed to provision ({why}): recreated", desired, observed
        )
    if immutable:
        return change_of(
            step, "replace", f"{label}: {', '.join(immutable)} cannot change in place", desired, observed
        )
    if mutable:
        return change_of(step, "update", f"{label}: {', '.join(mutable)}", desired, observed)
    if observed["tags"].get(TAG_HASH) != desired["tags"].get(TAG_HASH):
        return change_of(step, "update", f"{label}: desired properties changed (hash)", desired, observed)
    return change_of(step, "no-op", f"{label} is up to date", desired, observed)


def multi_evaluate(
    step: Step,
    ctx: Context,
    obs: Observer,
    wanted: list[r.Record],
    noun: str,
    immutable: Callable[[r.Record, r.Record | None], list[str]] | None = None,
) -> Evaluation:
    """One step that owns several resources of one type: the first conflict, else what is left to do.

    ``immutable(desired, observed)`` names the observed properties that differ and cannot change
    in place (the resource is then replaced)."""
    evaluations = []
    for d in wanted:
        seen = obs.get(d["type"], d["resource_group"], d["name"])
        fixed = immutable(d, seen) if immutable is not None and seen is not None else []
        evaluations.append(compare_resource(step, ctx, d, seen, fixed, [], noun))
    for ev in evaluations:
        if ev.change.action == "conflict":
            return ev
    pending = [ev for ev in evaluations if ev.change.action != "no-op"]
    if not pending:
        return change_of(step, "no-op", f"{len(wanted)} {noun}s are up to date")
    names = ", ".join(ev.desired["name"] for ev in pending if ev.desired)
    first = pending[0]
    action = "replace" if any(ev.change.action == "replace" for ev in pending) else "create"
    change = change_of(step, action, f"{noun} {names}", first.desired, first.observed).change
    return Evaluation(change, first.desired, first.observed, {"pending": pending})


def tag_drift(desired: r.Record, observed: r.Record) -> list[str]:
    return ["tags changed"] if user_tags(desired["tags"]) != user_tags(observed["tags"]) else []


def same_id(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()
