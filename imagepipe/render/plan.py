"""A plan for people (grouped by document, symbols, reasons, summary) and for scripts (JSON)."""

from __future__ import annotations

import json
from collections import OrderedDict

from rich.console import Console
from rich.table import Table

from imagepipe.plan.estimate import Estimate, duration_text
from imagepipe.plan.model import Change, Plan
from imagepipe.render.safe import markup

SYMBOLS: dict[str, tuple[str, str]] = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("±", "magenta"),
    "delete": ("-", "red"),
    "action": (">", "cyan"),
    "conflict": ("!", "bold red"),
    "no-op": (" ", "dim"),
}


def plan_text(plan: Plan, console: Console, *, show_unchanged: bool = False) -> None:
    groups: OrderedDict[str, list[Change]] = OrderedDict()
    for change in plan.changes:
        if change.action == "no-op" and not show_unchanged:
            continue
        groups.setdefault(change.document or change.address, []).append(change)
    title = "Destroy" if plan.destroy else "Plan"
    console.print(f"{title} for stack [bold]{markup(plan.stack)}[/bold]")
    if plan.target:
        console.print(f"Target: {markup(target_text(plan.target))}", soft_wrap=True)
        if plan.target.get("warning"):
            console.print(
                f"[bold yellow]Warning: {markup(plan.target['warning'])}[/bold yellow]", soft_wrap=True
            )
    for warning in plan.warnings:
        console.print(f"[yellow]{markup(warning_text(warning))}[/yellow]", soft_wrap=True)
    if not groups and not plan.orphans and not plan.undescribed and not plan.collisions:
        console.print("No changes. The infrastructure matches the specs.")
    rollouts = {rollout.deployment: rollout for rollout in plan.rollouts}
    for document, changes in groups.items():
        lines = [f"\n[bold]{markup(document)}[/bold]"]
        rollout = rollouts.get(document)
        if rollout is not None:
            lines.append(f"  [magenta]rolling:[/magenta] {markup(rollout.describe())}")
        for change in changes:
            symbol, style = SYMBOLS[change.action]
            wave = rollout.wave_of(change.address) if rollout is not None else None
            shown = f"{change.reason} (wave {wave})" if wave is not None else change.reason
            lines.append(f"  [{style}]{symbol} {markup(change.address)}[/{style}]  {markup(shown)}")
        console.print("\n".join(lines), soft_wrap=True)  # one print per document: 1,000 VMs print fast
    if plan.outside and (plan.prune or plan.destroy):
        lines = ["\n[bold]Outside the stack's resource groups[/bold]"]
        lines += [
            f"  [yellow]! {markup(rid)}[/yellow]  not deleted: outside the stack's resource groups"
            for rid in plan.outside
        ]
        console.print("\n".join(lines), soft_wrap=True)
    if plan.kept:
        lines = ["\n[bold]Kept while in use[/bold] (not deleted)"]
        lines += [f"  [yellow]~ {markup(k['address'])}[/yellow]  {markup(k['reason'])}" for k in plan.kept]
        console.print("\n".join(lines), soft_wrap=True)
    if plan.collisions:
        lines = [f"\n[bold]Another stack named {markup(plan.stack)}[/bold]"]
        lines += [
            f"  [yellow]! {markup(c['id'])}[/yellow]  not touched: it belongs to stack {markup(plan.stack)} "
            f"at {markup(c['identity'] or 'an unknown place (no identity tag)')}"
            for c in plan.collisions
        ]
        lines.append(
            f"  Two folders share the stack name {markup(plan.stack)}; give one of them a Stack document "
            f"with its own metadata.name."
        )
        console.print("\n".join(lines), soft_wrap=True)
    unchanged = sum(1 for c in plan.changes if c.action == "no-op")
    console.print()
    if unchanged and not show_unchanged:
        console.print(f"[dim]{unchanged} steps unchanged.[/dim]")
    if (plan.orphans or plan.undescribed) and not plan.prune and not plan.destroy:
        lines = ["[bold]No longer described by the specs[/bold] (pending: `apply --prune` deletes them)"]
        lines += [
            f"  [red]- {markup(o['address'])}[/red]  {markup(o['id'].rsplit('/providers/', 1)[-1])}"
            for o in plan.orphans
        ]
        lines.append(
            f"{len(plan.orphans) or plan.undescribed} owned resources are no longer described by the specs "
            f"(apply --prune deletes them)."
        )
        console.print("\n".join(lines), soft_wrap=True)
    console.print(plan.summary())
    if plan.estimate is not None:
        console.print(estimate_line(plan.estimate))
    if plan.conflicts:
        console.print(
            f"[bold red]{len(plan.conflicts)} conflicts: apply refuses to run until they are resolved.[/bold red]"
        )


def estimate_line(estimate: Estimate) -> str:
    """`Estimated apply time: about 4 min, bounded by ...` (and the wall time on an emulator)."""
    line = f"Estimated apply time: {markup(estimate.text)}"
    if estimate.speed != 1 and estimate.seconds > 0:
        line += f" (Azure time; about {duration_text(estimate.seconds / estimate.speed)} at this emulator's speed {estimate.speed:g})"
    return line + "."


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2)


def target_text(target: dict[str, str]) -> str:
    """One line naming where a run acts: the embedded emulator, an endpoint, or Azure."""
    subscription = f"subscription {target.get('subscription', '?')}"
    principal = f", signed in as {target['principal']}" if target.get("principal") else ""
    kind = target.get("kind")
    if kind == "embedded-emulator":
        return (
            f"the embedded emulator (state in {target.get('state', '.imagepipe')}), {subscription}: not Azure"
        )
    if kind == "azure":
        return f"Azure ({target.get('cloud', 'AzureCloud')}), {subscription}{principal}"
    return f"the ARM endpoint {target.get('endpoint', '?')}, {subscription}{principal}"


def warning_text(warning: dict) -> str:
    where = (
        f"{warning['file']}:{warning.get('line', 0)}:{warning.get('col', 0)}: "
        if warning.get("file")
        else (f"{warning['address']}: " if warning.get("address") else "")
    )
    return f"{where}warning: {warning.get('message', '')}"


def plan_table(plan: Plan, console: Console) -> None:
    """One row per change (no-ops left out): action, address, resource, reason; the headline below."""
    table = Table(
        title=f"{'Destroy' if plan.destroy else 'Plan'} for stack {markup(plan.stack)}", show_lines=False
    )
    for column in ("action", "address", "resource", "reason"):
        table.add_column(column, overflow="fold")
    for change in plan.changes:
        if change.action == "no-op":
            continue
        symbol, style = SYMBOLS[change.action]
        resource = (change.resource_id or "").rsplit("/providers/", 1)[-1]
        table.add_row(
            f"[{style}]{symbol} {change.action}[/{style}]",
            markup(change.address),
            markup(resource),
            markup(change.reason),
        )
    for orphan in plan.orphans:
        table.add_row(
            "[red]- pending[/red]",
            markup(orphan["address"]),
            markup(orphan["id"]),
            "no spec describes it (apply --prune deletes it)",
        )
    if plan.target:
        console.print(f"Target: {markup(target_text(plan.target))}", soft_wrap=True)
    console.print(table)
    console.print(plan.summary())
