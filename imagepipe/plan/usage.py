"""What still uses a managed image or a snapshot that would be deleted (no spec describes it any
more and --prune asks, or its step now makes another name): such a one is kept.

A managed image is in use while a VM or scale set of the subscription is created from it
(``storageProfile.imageReference.id``); a snapshot while a disk is created from it
(``creationData.sourceResourceId``) or a managed image made from it that stays. A capture's
snapshots are one set: one of them in use keeps them all. What this plan deletes itself, and
what this stack's own steps move to another image in the same apply (deletions run only once
every step succeeded), uses nothing. The subscription is listed only when there is such a
candidate, once per type (the plan's Inventory).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from imagepipe import vocabulary as r
from imagepipe.steps.context import TAG_SPEC, Context
from imagepipe.steps.evaluation import Evaluation
from imagepipe.steps.port import Observer

# The users of each kind of candidate: (type listed, what in its record names the source, noun).
_USERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    r.IMAGE.lower(): ((r.VM, "image", "VM"), (r.VMSS, "image", "scale set")),
    r.SNAPSHOT.lower(): ((r.DISK, "source_id", "disk"), (r.IMAGE, "snapshot_ids", "image")),
}


@dataclass(frozen=True)
class Kept:
    record: r.Record
    users: tuple[str, ...]  # "VM rg/name", "disk rg/name", or "snapshot x (used by disk rg/name)"

    @property
    def noun(self) -> str:
        return "image" if r.is_type(self.record, r.IMAGE) else "snapshot"

    def describe(self, most: int = 3) -> str:
        shown = ", ".join(self.users[:most])
        more = f" and {len(self.users) - most} more" if len(self.users) > most else ""
        return f"kept: used by {shown}{more}"


def _sources(rec: r.Record, field: str) -> list[str]:
    value = rec["properties"].get(field)
    values = value if isinstance(value, list) else [value]
    return [v.lower() for v in values if v]


def _moves_off(rec: r.Record, ctx: Context, evaluations: dict[str, Evaluation], source_id: str) -> bool:
    """A VM or scale set of this stack whose step makes it from another image in this apply."""
    ev = evaluations.get(rec["tags"].get(TAG_SPEC, ""))
    if ev is None or ev.desired is None or not ctx.owns(rec):
        return False
    wanted = str((ev.desired.get("properties") or {}).get("image") or "")
    return bool(wanted) and wanted.lower() != source_id


def keep_in_use(
    candidates: Iterable[r.Record], ctx: Context, obs: Observer, evaluations: dict[str, Evaluation]
) -> tuple[list[r.Record], list[Kept]]:
    """Split what --prune would delete: deleted, and kept because something still uses it."""
    candidates = list(candidates)
    deleted = {rec["id"].lower() for rec in candidates}
    kept: list[Kept] = []
    for kind in (r.IMAGE.lower(), r.SNAPSHOT.lower()):  # images first: a kept image keeps its snapshots
        mine = [rec for rec in candidates if rec["type"].lower() == kind]
        if not mine:
            continue
        ids = {rec["id"].lower() for rec in mine}
        users: dict[str, list[str]] = {}
        for type_, field, noun in _USERS[kind]:
            for rec in obs.list_all(type_):
                if rec["id"].lower() in deleted:
                    continue
                for source in _sources(rec, field):
                    if source in ids and not _moves_off(rec, ctx, evaluations, source):
                        users.setdefault(source, []).append(f"{noun} {rec['resource_group']}/{rec['name']}")
        sets: dict[str, list[r.Record]] = {}  # a capture's snapshots go or stay together
        for rec in mine:
            sets.setdefault(rec["tags"].get(TAG_SPEC) or rec["id"].lower(), []).append(rec)
        for members in sets.values():
            used = {
                m["id"].lower(): sorted(users[m["id"].lower()]) for m in members if m["id"].lower() in users
            }
            if not used:
                continue
            for member in members:
                own = used.get(member["id"].lower())
                why = (
                    own
                    or [
                        f"snapshot {m['name']} of the same set (used by {', '.join(u[:1])})"
                        for m in members
                        if (u := used.get(m["id"].lower()))
                    ][:1]
                )
                kept.append(Kept(member, tuple(why)))
                deleted.discard(member["id"].lower())
    kept_ids = {k.record["id"].lower() for k in kept}
    return [rec for rec in candidates if rec["id"].lower() not in kept_ids], kept
