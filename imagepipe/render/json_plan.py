"""The plan for policy tools (``plan -o json``): a documented, versioned shape, close to
``terraform show -json`` where it fits, with its JSON Schema in the package
(``schemas/plan-json-v1.schema.json``).

This is not the saved plan file (``plan --out``, ``schemas/plan-file-v1.schema.json``):
that one carries fingerprints for ``apply FILE``; this one is for reading. Each change
says its address, the ARM type it acts on, Terraform's ``actions`` list and imagepipe's own
action, before and after (secret properties replaced by ``"(sensitive)"`` and flagged in
``before_sensitive``/``after_sensitive``, as Terraform does) and the reason.

``actions``: create ``["create"]``, update ``["update"]``, replace ``["delete", "create"]``,
delete ``["delete"]``, no-op ``["no-op"]``; an action step (run a script, deallocate,
generalize) changes the state of an existing resource: ``["update"]``; a conflict changes
nothing (``["no-op"]``) and makes the plan not ``applyable``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from imagepipe import __version__, vocabulary
from imagepipe.plan.model import ACTIONS, Change, Plan
from imagepipe.render.estimate import plan_estimate_seconds

FORMAT_VERSION = "1.0"
SCHEMA_FILE = "plan-json-v1.schema.json"

TERRAFORM_ACTIONS: dict[str, list[str]] = {
    "create": ["create"],
    "update": ["update"],
    "replace": ["delete", "create"],
    "delete": ["delete"],
    "action": ["update"],
    "no-op": ["no-op"],
    "conflict": ["no-op"],
}
# Properties that hold (a reference to) a secret: never their value, even a reference.
SENSITIVE_KEYS = frozenset({"admin_password", "ssh_public_key", "password", "secret", "protected_settings"})
SENSITIVE = "(sensitive)"


def _redacted(value: Any) -> tuple[Any, Any]:
    """``value`` with secret properties replaced, and Terraform's ``*_sensitive`` mirror of it."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        marks: dict[str, Any] = {}
        for key, item in value.items():
            if str(key).lower() in SENSITIVE_KEYS and item is not None:
                clean[key], marks[key] = SENSITIVE, True
                continue
            clean[key], mark = _redacted(item)
            if mark not in (False, {}, []):
                marks[key] = mark
        return clean, marks
    if isinstance(value, list):
        pairs = [_redacted(item) for item in value]
        marks_list = [mark for _, mark in pairs]
        return [item for item, _ in pairs], (
            marks_list if any(m not in (False, {}) for m in marks_list) else []
        )
    return value, False


def arm_type(resource_id: str | None) -> str | None:
    """``Microsoft.Compute/virtualMachines`` from a resource id (nested types joined).

    Ids are read in ARM's form (``galleries/g/images/d``) and in the form a plan gives a
    resource not made yet (``galleries/images/g/d``); the type the vocabulary knows wins."""
    if not resource_id:
        return None
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return vocabulary.RESOURCE_GROUP if "resourcegroups" in lowered else None
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace, rest = parts[at + 1], parts[at + 2 :]
    if not rest:
        return None
    alternating = "/".join([namespace, *rest[0::2]])
    for split in range(len(rest) - 1, 0, -1):  # types first, then the name's segments
        candidate = vocabulary.resource_type("/".join([namespace, *rest[:split]]))
        if candidate is not None and len(rest) - split == split:
            return candidate.arm_type
    known = vocabulary.resource_type(alternating)
    return known.arm_type if known is not None else alternating


def change_json(change: Change) -> dict[str, Any]:
    before, before_sensitive = _redacted(change.before)
    after, after_sensitive = _redacted(change.after)
    state = change.after if isinstance(change.after, dict) else change.before
    state = state if isinstance(state, dict) else {}
    return {
        "address": change.address,
        "document": change.document or None,
        "type": arm_type(change.resource_id),
        "name": state.get("name"),
        "resource_group": state.get("resource_group"),
        "resource_id": change.resource_id,
        "action": change.action,
        "change": {
            "actions": TERRAFORM_ACTIONS[change.action],
            "before": before,
            "after": after,
            "before_sensitive": before_sensitive if change.before is not None else False,
            "after_sensitive": after_sensitive if change.after is not None else False,
        },
        "reason": change.reason,
    }


def plan_document(plan: Plan, *, target: str | None = None) -> dict[str, Any]:
    """The plan as the documented JSON object (see the module's docstring)."""
    counts = plan.counts()
    estimate = plan_estimate_seconds(plan)
    where = getattr(plan, "target", None)
    described = dict(where) if isinstance(where, dict) else {}
    kind = described.get("kind")
    cloud = (
        described.get("cloud")
        or described.get("endpoint")
        or ("local emulator" if kind == "embedded-emulator" else None)
    )
    named = cloud or target or (where if isinstance(where, str) else None)
    return {
        "format_version": FORMAT_VERSION,
        "imagepipe_version": __version__,
        "stack": plan.stack,
        "target": described
        | {"cloud": None if named is None else str(named), "subscription": plan.subscription or None},
        "mode": "destroy" if plan.destroy else "plan",
        "prune": plan.prune,
        "applyable": not plan.conflicts,
        "has_changes": plan.has_changes,
        "headline": plan.summary(),
        "summary": {action: counts.get(action, 0) for action in ACTIONS},
        "estimated_duration_s": None if estimate is None else round(estimate, 1),
        # What bounds it (plan/estimate.py): the critical path, image slots or a budget.
        "estimated_duration_bound": getattr(getattr(plan, "estimate", None), "bound", None),
        "resource_changes": [change_json(c) for c in plan.changes],
        "undescribed": plan.undescribed,
        "outside": list(plan.outside),
        "orphans": [dict(o) for o in plan.orphans],
        "kept": [dict(k) for k in getattr(plan, "kept", None) or []],
        "collisions": [dict(c) for c in plan.collisions],
        "warnings": [
            w if isinstance(w, dict) else {"message": str(w)} for w in getattr(plan, "warnings", None) or []
        ],
    }


def render_plan_json(plan: Plan, *, target: str | None = None) -> str:
    return json.dumps(plan_document(plan, target=target), indent=2)


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("imagepipe").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def plan_document_problem(data: object) -> str | None:
    """Why ``data`` does not follow the schema (the most relevant error), or None."""
    error = best_match(_validator().iter_errors(data))
    if error is None:
        return None
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where.lstrip('.') or 'the document'}: {error.message[:200]}"
