"""A plan is data: the changes one reconciliation would make, with a JSON round-trip.

A saved plan carries a fingerprint of the spec files (and of every file a ``{file:}``
reference reads) and, per change, one of the observed state it was computed from, so
``apply plan.json`` can refuse a stale plan. A plan file is checked against its schema
(``schemas/plan-file-v1.schema.json``) before anything of it is used.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

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
    "plan_file_problem",
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
    destroy: bool = False
    # Owned resources outside the resource groups the specs name: reported, never deleted
    # (anyone can copy the stack's tags onto a resource anywhere in the subscription).
    outside: list[str] = field(default_factory=list)
    # Resources tagged with this stack's name by another stack of that name (another folder,
    # another identity): reported, never adopted, changed or deleted.
    collisions: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(c.action for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action == "conflict"]

    def summary(self) -> str:
        n = self.counts()
        return (
            f"Plan: {n['create']} to create, {n['update'] + n['replace']} to change, "
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
            collisions=[
                {"id": str(c["id"]), "identity": str(c.get("identity", ""))}
                for c in data.get("collisions", [])
            ],
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n", encoding="utf-8")


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
        return None
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where.lstrip('.') or 'the file'}: {error.message[:200]}"
