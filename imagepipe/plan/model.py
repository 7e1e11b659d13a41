"""A plan is data: the changes one reconciliation would make, with a JSON round-trip.

A saved plan carries a fingerprint of the spec files (and of every file a ``{file:}``
reference reads) and, per change, one of the observed state it was computed from, so
``apply plan.json`` can refuse a stale plan. A plan file is checked against its schema
(``schemas/plan-file-v1.schema.json``) before anything of it is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from imagepipe.plan.estimate import Estimate
from imagepipe.plan.rollout import RolloutPlan
from imagepipe.spec.model import SpecSet
from imagepipe.spec.secrets import file_references
from imagepipe.steps.change import ACTIONS, Action, Change, canonical_json, digest

__all__ = [
    "ACTIONS",
    "PLAN_FORMAT",
    "Action",
    "Change",
    "Plan",
    "canonical_json",
    "digest",
    "looks_like_plan_file",
    "plan_differences",
    "plan_file_problem",
    "read_plan_file",
    "spec_fingerprint",
    "specset_fingerprint",
]

PLAN_FORMAT = 1


@dataclass
class Plan:
    stack: str
    changes: list[Change] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # the spec paths the plan was made from
    spec_fingerprint: str = ""
    subscription: str = ""
    prune: bool = False
    undescribed: int = 0  # owned resources no spec describes (deleted only with --prune)
    # Without --prune, those resources one by one ({"address", "id"}): listed, and pending.
    orphans: list[dict[str, str]] = field(default_factory=list)
    # Managed images and snapshots that would go (undescribed with --prune, renamed away) but are used
    # ({"address", "id", "reason"}: "kept: used by VM rg/name"): not deleted, not pending.
    kept: list[dict[str, str]] = field(default_factory=list)
    destroy: bool = False
    # Owned resources outside the resource groups the specs name: reported, never deleted
    # (anyone can copy the stack's tags onto a resource anywhere in the subscription).
    outside: list[str] = field(default_factory=list)
    # Resources tagged with this stack's name by another stack of that name (another folder,
    # another identity): reported, never adopted, changed or deleted.
    collisions: list[dict[str, str]] = field(default_factory=list)
    # Where the plan was made (azure/target.py: Target.describe): kind, subscription, and the state
    # folder, the endpoint or the cloud and principal; a "warning" when CI runs on the emulator.
    target: dict[str, str] = field(default_factory=dict)
    # The spec set's validation warnings (Diagnostic.to_json): shown by plan and apply too.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    estimate: Estimate | None = None  # how long apply should take (plan/estimate.py)
    # Deployments whose VMs are replaced in waves (plan/rollout.py), in spec order.
    rollouts: list[RolloutPlan] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(c.action for c in self.changes)

    @property
    def has_changes(self) -> bool:
        """Anything to do: a change, or an owned resource no spec describes (pending until
        `apply --prune` deletes it; never "No changes" beside it)."""
        return any(c.is_change for c in self.changes) or bool(self.orphans) or self.undescribed > 0

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == "conflict"]

    def summary(self) -> str:
        n = self.counts()
        return (
            f"Plan: {n['create']} to create, {n['update']} to change, {n['replace']} to replace, "
            f"{n['delete']} to delete, {n['action']} actions."
        )

    def change(self, address: str) -> Change | None:
        return next((c for c in self.changes if c.address == address), None)

    def to_json(self) -> dict[str, Any]:
        return (
            {
                "format": PLAN_FORMAT,
                "stack": self.stack,
                "paths": self.paths,
                "spec_fingerprint": self.spec_fingerprint,
                "subscription": self.subscription,
                "prune": self.prune,
                "destroy": self.destroy,
                "undescribed": self.undescribed,
                "summary": dict(self.counts()),
                "changes": [c.to_json() for c in self.changes],
            }
            | ({"outside": self.outside} if self.outside else {})
            | ({"collisions": self.collisions} if self.collisions else {})
            | ({"orphans": self.orphans} if self.orphans else {})
            | ({"kept": self.kept} if self.kept else {})
            | ({"target": self.target} if self.target else {})
            | ({"warnings": self.warnings} if self.warnings else {})
            | ({"estimate": self.estimate.to_json()} if self.estimate else {})
            | ({"rollouts": [r.to_json() for r in self.rollouts]} if self.rollouts else {})
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"unsupported plan format {data.get('format')!r}")
        return cls(
            stack=data["stack"],
            changes=[Change.from_json(c) for c in data.get("changes", [])],
            paths=list(data.get("paths", [])),
            spec_fingerprint=data.get("spec_fingerprint", ""),
            subscription=data.get("subscription", ""),
            prune=bool(data.get("prune")),
            undescribed=int(data.get("undescribed", 0)),
            destroy=bool(data.get("destroy")),
            outside=[str(rid) for rid in data.get("outside", [])],
            orphans=[{"address": str(o["address"]), "id": str(o["id"])} for o in data.get("orphans", [])],
            kept=[
                {"address": str(k["address"]), "id": str(k["id"]), "reason": str(k["reason"])}
                for k in data.get("kept", [])
            ],
            target={str(k): str(v) for k, v in (data.get("target") or {}).items()},
            warnings=[dict(w) for w in data.get("warnings", [])],
            rollouts=[RolloutPlan.from_json(r) for r in data.get("rollouts", [])],
            collisions=[
                {"id": str(c["id"]), "identity": str(c.get("identity", ""))}
                for c in data.get("collisions", [])
            ],
            estimate=Estimate.from_json(data["estimate"]) if data.get("estimate") else None,
        )

    def to_file_json(self, plan_file: Path) -> dict[str, Any]:
        """The saved form: the spec root relative to the plan file's folder, the paths relative to
        the root, so `apply FILE` works from any folder and wherever the checkout lives."""
        root = _spec_root(self.paths)
        plan_dir = Path(os.path.abspath(plan_file)).parent
        paths = [_posix(os.path.relpath(os.path.abspath(p), root)) for p in self.paths]
        data = self.to_json()
        data["root"] = _posix(os.path.relpath(root, plan_dir))
        data["paths"] = paths
        return data

    def save(self, path: Path) -> None:
        """Write the plan file (OSError when it cannot be written)."""
        text = json.dumps(self.to_file_json(path), indent=2, sort_keys=False) + "\n"
        path.write_text(text, encoding="utf-8")


def _posix(path: str) -> str:
    return PurePosixPath(Path(path)).as_posix()


def _spec_root(paths: list[str]) -> str:
    """The folder every spec path lies in: the path itself for a folder, its parent for a file."""
    folders = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p))) for p in paths]
    return os.path.commonpath(folders) if folders else os.path.abspath(".")


def _shown(path: str) -> str:
    """A resolved path as a user reads it: relative to the working folder when below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def looks_like_plan_file(path: Path) -> bool:
    """A file is a saved plan by its content (a JSON object that is not a spec document), whatever
    its name: `plan --out my.plan` then `apply my.plan`."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as fh:
            head = fh.read(1024).lstrip()
        if not head.startswith(b"{"):
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "kind" not in data and "apiVersion" not in data


def read_plan_file(path: Path) -> Plan:
    """A saved plan, checked against its schema before anything of it is used, its paths resolved
    from the plan file's folder. ValueError (or OSError) says why it is not a plan file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    problem = plan_file_problem(data)
    if problem:
        raise ValueError(problem)
    plan = Plan.from_json(data)
    root = os.path.join(os.path.dirname(os.path.abspath(path)), *PurePosixPath(data["root"]).parts)
    plan.paths = [
        _shown(os.path.normpath(os.path.join(root, *PurePosixPath(p).parts))) for p in data["paths"]
    ]
    return plan


def spec_fingerprint(files: tuple[Path, ...] | list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(Path(f) for f in files):
        h.update(str(path.name).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
        h.update(b"\0")
    return h.hexdigest()[:16]


def specset_fingerprint(specset: SpecSet) -> str:
    """The spec files and every file a ``{file:}`` reference reads: a change to any makes a saved plan stale."""
    return spec_fingerprint([*specset.files, *(ref.path() for ref in file_references(specset))])


@cache
def _plan_file_validator() -> Draft202012Validator:
    text = resources.files("imagepipe").joinpath("schemas", "plan-file-v1.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def plan_file_problem(data: object) -> str | None:
    """Why ``data`` is not a saved plan (the most relevant schema error), or None."""
    error = best_match(_plan_file_validator().iter_errors(data))
    if error is None:
        return _paths_problem(data)  # type: ignore[arg-type]  # the schema made it a dict
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where.lstrip('.') or 'the file'}: {error.message[:200]}"


def _paths_problem(data: dict[str, Any]) -> str | None:
    """The spec paths must lie inside the spec root, and the root be relative to the plan file:
    a plan file must not make apply read any other folder (`paths: ["/usr"]`)."""
    if PurePosixPath(data["root"]).is_absolute() or Path(data["root"]).is_absolute():
        return "root: must be relative to the plan file's folder"
    for index, path in enumerate(data["paths"]):
        pure = PurePosixPath(path)
        if pure.is_absolute() or Path(path).is_absolute() or ".." in pure.parts or "\\" in path:
            return f"paths[{index}]: {path[:200]!r} is not inside the spec root"
    return None


# What the saved plan would have done, and what it would do now, per action.
_WOULD = {
    "create": "create it",
    "update": "change it",
    "replace": "replace it",
    "delete": "delete it",
    "action": "run it",
    "no-op": "leave it (up to date)",
    "conflict": "refuse it (a conflict)",
}


def _diff_key(change: Change) -> tuple[str, str]:
    # A deletion is keyed by its resource as well: an owned leftover can share a live step's address.
    return (change.address, change.resource_id or "") if change.action == "delete" else (change.address, "")


def plan_differences(saved: Plan, fresh: Plan) -> list[str]:
    """Per address, what differs between a saved plan and the plan made now, in words."""
    before = {_diff_key(c): c for c in saved.changes}
    now = {_diff_key(c): c for c in fresh.changes}
    out: list[str] = []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        address = key[0]
        if old is None and new is not None:
            if new.is_change:
                out.append(
                    f"{address}: not in the saved plan, now it would {_WOULD[new.action]} ({new.reason})"
                )
        elif new is None and old is not None:
            if old.is_change:
                gone = old.resource_id or "it"
                out.append(
                    f"{address}: the saved plan would {_WOULD[old.action]}, but {gone} no longer exists"
                )
        elif old is not None and new is not None:
            if old.action != new.action:
                out.append(
                    f"{address}: the saved plan would {_WOULD[old.action]}, now it would "
                    f"{_WOULD[new.action]} ({new.reason})"
                )
            elif old.is_change and old.observed != new.observed:
                out.append(f"{address}: the resource changed since the plan was made ({new.reason})")
    return out
