"""Plan = observe once (batched) + evaluate every step's handler, act left out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.graph.stepgraph import StepGraph
from imagepipe.plan.estimate import Estimate, estimate
from imagepipe.plan.model import Change, Plan, specset_fingerprint
from imagepipe.plan.observe import Inventory
from imagepipe.plan.rollout import plan_rollouts
from imagepipe.plan.usage import keep_in_use
from imagepipe.spec.model import SpecSet
from imagepipe.steps.base import Handler
from imagepipe.steps.context import TAG_SPEC, TAG_STACK, TAG_STACK_ID, Context, owned_by
from imagepipe.steps.evaluation import Evaluation, change_of, display, observed_fingerprint
from imagepipe.steps.port import Provider
from imagepipe.steps.registry import handler_for


@dataclass
class PlanResult:
    plan: Plan
    context: Context
    inventory: Inventory
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    handlers: dict[str, Handler] = field(default_factory=dict)
    deletions: list[r.Record] = field(default_factory=list)

    def absent_vms(self) -> set[tuple[str, str, str]]:
        """Keys of the VMs this plan creates because it found them absent."""
        return {
            r.key(ev.desired["type"], ev.desired["resource_group"], ev.desired["name"])
            for ev in self.evaluations.values()
            if ev.desired is not None
            and ev.desired["type"] == r.VM
            and ev.observed is None
            and ev.change.action == "create"
        }


def resource_groups_of(ctx: Context) -> set[str]:
    """Every resource group the documents put things in or read from."""
    groups: set[str] = set()
    for step in ctx.graph.steps():
        if step.params.get("resource_group"):
            groups.add(step.params["resource_group"])
        elif step.kind is r.StepKind.RESOURCE_GROUP:
            groups.add(step.params["name"])
    for doc in ctx.specset.documents.values():
        for attr in ("resource_group",):
            if getattr(doc, attr, ""):
                groups.add(getattr(doc, attr))
        image = getattr(doc, "image", None)
        if getattr(image, "resource_group", None):
            groups.add(image.resource_group)
    return groups


def within_groups(
    records: Iterable[r.Record], groups: Iterable[str]
) -> tuple[list[r.Record], list[r.Record]]:
    """The records inside the named resource groups, and the others (never deleted: reported)."""
    names = {g.lower() for g in groups}
    inside: list[r.Record] = []
    outside: list[r.Record] = []
    for rec in records:
        (inside if rec["resource_group"].lower() in names else outside).append(rec)
    return inside, outside


def make_plan(
    specset: SpecSet, graph: StepGraph, azure: Provider, *, paths: Iterable[str] = (), prune: bool = False
) -> PlanResult:
    ctx = Context(specset, graph, azure.subscription_id)
    groups = resource_groups_of(ctx)
    inventory = Inventory(azure, specset.name).load(groups)
    plan = Plan(
        stack=specset.name,
        paths=[str(p) for p in paths],
        spec_fingerprint=specset_fingerprint(specset),
        subscription=azure.subscription_id,
        prune=prune,
        target=azure.describe_target(),
        warnings=[w.to_json() for w in specset.warnings],
    )
    result = PlanResult(plan, ctx, inventory)
    addresses = set()
    for step in graph.steps():
        addresses.add(step.address)
        handler = handler_for(step)
        ev = handler.evaluate(step, ctx, inventory)
        result.evaluations[step.address] = ev
        result.handlers[step.address] = handler
        plan.changes.append(ev.change)
    announce_rebuilt_source_steps(result, graph)
    announce_cleanups(result, graph)
    plan.rollouts = plan_rollouts(specset, graph, plan.changes)
    mine, foreign = by_identity(with_children(azure, specset.name, inventory.owned), specset)
    plan.collisions = collisions(foreign)
    owned, outside = within_groups(mine, groups)
    plan.outside = sorted(rec["id"] for rec in outside)
    undescribed = [rec for rec in owned if rec["tags"].get(TAG_SPEC) not in addresses]
    plan.undescribed = len(undescribed)
    if not prune:
        plan.orphans = [
            {"address": deletion_address(rec), "id": rec["id"]} for rec in sort_for_deletion(undescribed)
        ]
    renamed = dict(
        (old["id"].lower(), (old, new)) for old, new in renamed_away(owned, result.evaluations, graph)
    )
    # A managed image or snapshot that goes (pruned, or renamed away) stays while something uses it.
    leaving = (undescribed if prune else []) + [old for old, _ in renamed.values()]
    going, kept = keep_in_use(leaving, ctx, inventory, result.evaluations)
    gone = {rec["id"].lower() for rec in going}
    plan.kept = [
        {
            "address": deletion_address(k.record),
            "id": k.record["id"],
            "reason": f"{k.noun} {k.record['name']}: "
            + (
                f"renamed: replaced by {renamed[k.record['id'].lower()][1]}"
                if k.record["id"].lower() in renamed
                else "no spec describes it any more"
            )
            + f"; {k.describe()}",
        }
        for k in sorted(kept, key=lambda k: k.record["id"].lower())
    ]
    result.deletions = sort_for_deletion(going)
    if prune:
        pruned = [rec for rec in undescribed if rec["id"].lower() in gone]
        plan.undescribed = len(pruned)  # a kept one is not pending: it stays while it is used
        plan.changes.extend(
            deletion_change(rec, "no spec describes it any more (--prune)")
            for rec in sort_for_deletion(pruned)
        )
    plan.changes.extend(
        deletion_change(old, f"renamed: replaced by {new}, deleted once the new one is verified")
        for old, new in sorted(
            (pair for pair in renamed.values() if pair[0]["id"].lower() in gone),
            key=lambda pair: (r.delete_rank(pair[0]["type"]), pair[0]["id"]),
        )
    )
    plan.estimate = estimate_of(plan, graph, specset, azure)
    return result


# Steps that act on a source VM in place: a rebuilt (replaced or created) VM needs them again.
ACTS_ON_SOURCE = frozenset(
    {
        r.StepKind.CAPTURE_DEPROVISION,
        r.StepKind.CAPTURE_DEALLOCATE,
        r.StepKind.CAPTURE_GENERALIZE,
    }
)


def announce_rebuilt_source_steps(result: PlanResult, graph: StepGraph) -> None:
    """A source VM this plan replaces or creates is deprovisioned, deallocated and generalized
    again by its in-place capture, though the VM seen now says they are done."""
    rebuilt = {
        s.address
        for s in graph.steps()
        if s.kind is r.StepKind.SOURCE_VM
        and result.evaluations[s.address].change.action in ("create", "replace")
    }
    if not rebuilt:
        return
    for step in graph.steps():
        if step.kind not in ACTS_ON_SOURCE or result.evaluations[step.address].change.action != "no-op":
            continue
        if not rebuilt & upstream(graph, step.address):
            continue
        verb = step.kind.value.removeprefix("capture-")
        last = " (irreversible)" if step.kind is r.StepKind.CAPTURE_GENERALIZE else ""
        _replace_change(result, step, f"{verb} the source VM once it is rebuilt{last}")


def upstream(graph: StepGraph, address: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.dependencies(address))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(graph.dependencies(current))
    return seen


def _replace_change(result: PlanResult, step: Step, reason: str) -> None:
    announced = change_of(step, "action", reason)
    result.evaluations[step.address] = announced
    index = next(i for i, c in enumerate(result.plan.changes) if c.address == step.address)
    result.plan.changes[index] = announced.change


def announce_cleanups(result: PlanResult, graph: StepGraph) -> None:
    """A capture that will run makes temporaries its cleanup step deletes: the plan says so,
    though none exists yet (else the plan lists one action fewer than apply runs)."""
    for step in graph.steps():
        if step.kind is not r.StepKind.CAPTURE_CLEANUP:
            continue
        ev = result.evaluations[step.address]
        if ev.change.action != "no-op":
            continue
        others = [s for s in graph.steps_of(step.document) if s.address != step.address]
        if not any(result.evaluations[s.address].change.is_change for s in others):
            continue
        on_point = any(s.kind is r.StepKind.CAPTURE_RESTORE_POINT for s in others)
        copies = "the restore point collection" if on_point else "the snapshots"
        _replace_change(
            result,
            step,
            f"delete the capture's temporaries (temporary VM, its NIC and disks, {copies}) once the image exists",
        )


# Steps that make one resource whose name the specs choose: a new name is a rename. (Not the
# steps that make several, such as snapshots, nor a gallery version: a version bump adds one,
# and older versions are the retention's to delete.)
RENAMEABLE = frozenset(
    {
        r.StepKind.VIRTUAL_NETWORK,
        r.StepKind.SOURCE_NIC,
        r.StepKind.SOURCE_VM,
        r.StepKind.DEPLOYMENT_VM,
        r.StepKind.DEPLOYMENT_VMSS,
        r.StepKind.CAPTURE_IMAGE,
        r.StepKind.CAPTURE_GALLERY,
        r.StepKind.CAPTURE_GALLERY_IMAGE,
    }
)


def renamed_away(
    owned: Iterable[r.Record], evaluations: dict[str, Evaluation], graph: StepGraph
) -> list[tuple[r.Record, str]]:
    """Owned resources tagged with a live step's address whose step now makes another name of
    that type (a changed namePattern, vmName or image name): the old one, and the new name.

    Without this, the old resource would stay for ever, tagged with a live address: invisible
    to the plan, to --prune and to the "no longer described" count."""
    wanted: dict[str, r.Record] = {
        address: ev.desired
        for address, ev in evaluations.items()
        if ev.desired is not None and graph.step(address).kind in RENAMEABLE
    }
    owned = list(owned)
    out: list[tuple[r.Record, str]] = []
    for rec in owned:
        desired = wanted.get(rec["tags"].get(TAG_SPEC, ""))
        if desired is None or rec["type"].lower() != desired["type"].lower():
            continue
        same = (rec["resource_group"].lower(), rec["name"].lower()) == (
            desired["resource_group"].lower(),
            desired["name"].lower(),
        )
        if not same:
            new = f"{r.short_type(desired['type'])} {desired['resource_group']}/{desired['name']}"
            out.append((rec, new))
            # What it holds goes with it (a renamed definition's versions): Azure deletes no
            # gallery or definition before what is nested in it.
            nested = rec["id"].lower() + "/"
            out += [
                (child, f"{new}, with its parent")
                for child in owned
                if child["id"].lower().startswith(nested)
            ]
    unique = {old["id"].lower(): (old, new) for old, new in reversed(out)}  # the first reason wins
    return list(unique.values())


def estimate_of(plan: Plan, graph: StepGraph, specset: SpecSet, azure: Provider) -> Estimate:
    # The target's time scale: an emulator runs `speed` times faster than Azure (1 for Azure).
    speed = float(getattr(azure, "speed", 1.0))
    # A step notices the end of what it waits for at its next poll, then verifies: about one
    # polling interval per step (0.2 s x speed against an emulator, 5 s against Azure).
    overhead = float(getattr(azure, "polling_interval", 5.0)) * speed
    found = estimate(graph, specset, {c.address: c.action for c in plan.changes}, speed, overhead)
    # Waves run one after another: a rollout can take longer than the fan-out the estimate saw.
    slowest = max(plan.rollouts, key=lambda rollout: rollout.seconds, default=None)
    if slowest is not None and slowest.seconds > found.seconds:
        bound = f"the rollout of {slowest.deployment}: {len(slowest.waves)} waves one after another"
        return Estimate(slowest.seconds, bound, found.speed)
    return found


def make_destroy_plan(
    specset: SpecSet, graph: StepGraph, azure: Provider, *, paths: Iterable[str] = ()
) -> PlanResult:
    """Every resource the stack owns (by its tag) in the resource groups its specs name, in
    reverse dependency order; owned resources elsewhere are listed in ``plan.outside``."""
    ctx = Context(specset, graph, azure.subscription_id)
    inventory = Inventory(azure, specset.name)
    mine, foreign = by_identity(with_children(azure, specset.name, azure.owned(specset.name)), specset)
    inventory.owned, outside = within_groups(mine, resource_groups_of(ctx))
    plan = Plan(
        stack=specset.name,
        paths=[str(p) for p in paths],
        spec_fingerprint=specset_fingerprint(specset),
        subscription=azure.subscription_id,
        destroy=True,
        outside=sorted(rec["id"] for rec in outside),
        collisions=collisions(foreign),
        target=azure.describe_target(),
        warnings=[w.to_json() for w in specset.warnings],
    )
    result = PlanResult(plan, ctx, inventory)
    result.deletions = sort_for_deletion(inventory.owned)
    plan.changes = [deletion_change(rec, f"owned by stack {specset.name}") for rec in result.deletions]
    plan.estimate = estimate_of(plan, graph, specset, azure)
    return result


def by_identity(records: Iterable[r.Record], specset: SpecSet) -> tuple[list[r.Record], list[r.Record]]:
    """This stack's records, and those of another stack that shares its name (never touched)."""
    mine: list[r.Record] = []
    foreign: list[r.Record] = []
    for rec in records:
        (mine if owned_by(rec, specset.name, specset.identity) else foreign).append(rec)
    return mine, foreign


def collisions(foreign: Iterable[r.Record]) -> list[dict[str, str]]:
    return sorted(
        ({"id": rec["id"], "identity": rec["tags"].get(TAG_STACK_ID, "")} for rec in foreign),
        key=lambda c: c["id"].lower(),
    )


def with_children(azure: Provider, stack: str, owned: list[r.Record]) -> list[r.Record]:
    """Owned galleries bring their owned definitions and versions (listed apart by ARM)."""
    seen = {rec["id"].lower() for rec in owned}
    out = list(owned)
    for rec in owned:
        if not r.is_type(rec, r.GALLERY):
            continue
        for child in azure.gallery_children(rec["resource_group"], rec["name"]):
            if child["id"].lower() not in seen and child["tags"].get(TAG_STACK) == stack:
                seen.add(child["id"].lower())
                out.append(child)
    return out


def sort_for_deletion(records: Iterable[r.Record]) -> list[r.Record]:
    """What uses a resource goes before it (reverse dependency order)."""
    return sorted(records, key=lambda rec: (r.delete_rank(rec["type"]), rec["id"].lower()))


def deletion_address(rec: r.Record) -> str:
    return rec["tags"].get(TAG_SPEC) or rec["id"]


def deletion_change(rec: r.Record, reason: str) -> Change:
    address = deletion_address(rec)
    kind = r.short_type(rec["type"])
    return Change(
        action="delete",
        address=address,
        reason=f"{kind} {rec['name']}: {reason}",
        document=_document_of(address),
        resource_id=rec["id"],
        before=display(rec),
        after=None,
        observed=observed_fingerprint(rec),
    )


def _document_of(address: str) -> str:
    parts = address.split("/")
    if parts[0] in ("ResourceGroup",):
        return "/".join(parts[:2])
    if parts[0] == "VirtualNetwork":
        return "/".join(parts[:3])
    return "/".join(parts[:2])
