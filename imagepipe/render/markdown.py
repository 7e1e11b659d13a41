"""A plan as Markdown for a pull-request comment or a job summary.

The layout follows what reviewers of Terraform plans get from tfcmt and setup-terraform
(docs/ci.md): a hidden marker that finds the comment again, the target and the headline
first and outside any collapsed section, warnings, conflicts, replacements and deletions
next and expanded, then one ``<details>`` per document with a blank line after
``</summary>`` so its code block renders. Fan-outs are one line ("+ 40 VMs web-east-00 …
web-east-39 from ..."), so a 1,000-VM plan stays readable and under the size limit.

Every string that comes from Azure or a tag (addresses of deletions, reasons, resource
ids) is escaped: control characters as with the text plan, Markdown and HTML so it can
neither restyle the comment nor mention anyone, and ``##`` so a CI log that shows the
Markdown cannot read it as a logging command (``##vso[...]``, ``##[error]``).
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imagepipe.plan.model import Change, Plan
from imagepipe.render.estimate import estimate_text, plan_estimate_seconds
from imagepipe.render.plan import target_text, warning_text
from imagepipe.render.safe import printable

# GitHub refuses a comment body over 65,536 characters; the plan stays well under it
# (measured in UTF-8 bytes, which are never fewer than characters).
COMMENT_LIMIT = 60_000
# $GITHUB_STEP_SUMMARY takes at most 1 MiB per step.
SUMMARY_LIMIT = 1_000_000
# A fan-out of at least this many alike steps is one line.
GROUP_MIN = 3

# Diff markers: GitHub colours ```diff lines that start with + (green) and - (red).
MARKS: dict[str, str] = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "action": ">",
    "conflict": "!",
    "no-op": " ",
}
VERBS: dict[str, str] = {
    "create": "to create",
    "update": "to change",
    "replace": "to replace",
    "delete": "to delete",
    "action": "actions",
    "conflict": "conflicts",
    "no-op": "unchanged",
}
NOUNS: dict[str, str] = {"vm": "VMs", "disks": "disk sets", "customize": "scripts"}
_INDEXED = re.compile(r"^(?P<family>.*)\[(?P<index>\d+)\]$")
# Markdown and HTML punctuation that could start markup inside running text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")
_BACKTICKS = re.compile(r"`+")


# -- escaping ------------------------------------------------------------------------------


def _log_safe(text: str) -> str:
    # A zero-width space between two #: no CI agent reads "##vso[" or "##[" in the log.
    return text.replace("##", "#\u200b#")


def _no_mention(text: str) -> str:
    # A word joiner after @: "@team" read from a tag never notifies anyone.
    return text.replace("@", "@\u2060")


def md_text(value: object) -> str:
    """``value`` for running Markdown text: one line, no markup, no mention, no log command."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", printable(value))
    # No autolink either: a URL read from Azure stays text.
    return _no_mention(text.replace("://", ":\\/\\/").replace("www.", "www\\."))


def html_text(value: object) -> str:
    """``value`` inside an HTML element (``<summary>``)."""
    return _no_mention(html.escape(printable(value), quote=True).replace("#", "&#35;"))


def code_line(value: object) -> str:
    """``value`` for a line of a fenced code block: one line (so it cannot close the fence)."""
    return _no_mention(_log_safe(printable(value)))


def code_span(value: object) -> str:
    """``value`` as inline code, fenced with more backticks than it contains."""
    text = _log_safe(printable(value))
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if longest or text.startswith(" ") else f"{fence}{text}{fence}"


def _marker_value(value: object) -> str:
    # Inside an HTML comment: no "--" and no ">" may end it early.
    return re.sub(r"[^A-Za-z0-9._:/@+-]", "_", printable(value)).replace("--", "-_")


# -- grouping ------------------------------------------------------------------------------


@dataclass
class Line:
    """One line of a document's section: a change, or a fan-out of alike changes."""

    action: str
    changes: list[Change]

    @property
    def first(self) -> Change:
        return self.changes[0]


def _name(change: Change) -> str:
    for state in (change.after, change.before):
        if isinstance(state, dict) and state.get("name"):
            return str(state["name"])
    return change.address


def _image(change: Change) -> str | None:
    properties = (change.after or {}).get("properties") if isinstance(change.after, dict) else None
    image = properties.get("image") if isinstance(properties, dict) else None
    return str(image) if image else None


def image_text(image: str) -> str:
    """An image reference as a reviewer reads it: ``gallery version fleetgallery/web/1.0.0``."""
    parts = image.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "galleries" in lowered and "versions" in lowered:
        at = lowered.index("galleries")
        if lowered[at + 1 : at + 3] == ["images", "versions"]:  # a planned id: types, then names
            names = parts[at + 3 : at + 6]
        else:
            names = [parts[at + 1], parts[lowered.index("images") + 1], parts[lowered.index("versions") + 1]]
        return f"gallery version {'/'.join(names)}"
    if "images" in lowered and len(parts) > lowered.index("images") + 1:
        return f"image {parts[lowered.index('images') + 1]}"
    if "snapshots" in lowered:
        return f"snapshot {parts[-1]}"
    if image.count(":") == 3:
        return f"marketplace image {image}"
    return image


def _group_key(change: Change) -> tuple[str, str, str] | None:
    match = _INDEXED.match(change.address)
    if match is None:
        return None
    return (change.action, match["family"], _image(change) or "")


def group_lines(changes: Sequence[Change]) -> list[Line]:
    """Alike indexed steps of a document (same action, step and image) as one line each."""
    buckets: OrderedDict[object, list[Change]] = OrderedDict()
    for position, change in enumerate(changes):
        key = _group_key(change)
        buckets.setdefault(key if key is not None else ("single", position), []).append(change)
    lines: list[Line] = []
    for key, members in buckets.items():
        if key[0] != "single" and len(members) >= GROUP_MIN:
            lines.append(Line(members[0].action, members))
        else:
            lines.extend(Line(c.action, [c]) for c in members)
    return lines


def _index(change: Change) -> int:
    match = _INDEXED.match(change.address)
    return int(match["index"]) if match else 0


def line_text(line: Line) -> str:
    """The text of one line, without its diff marker."""
    if len(line.changes) == 1:
        change = line.first
        return f"{change.address}  {change.reason}"
    members = sorted(line.changes, key=_index)
    family = _INDEXED.match(members[0].address)
    suffix = family["family"].rsplit("/", 1)[-1] if family else "step"
    noun = NOUNS.get(suffix, f"{suffix} steps")
    text = f"{len(members)} {noun} {_name(members[0])} … {_name(members[-1])}"
    image = _image(members[0])
    if image and line.action in ("create", "replace"):
        text += f" from {image_text(image)}"
    waves = {getattr(c, "wave", None) for c in members} - {None}
    if len(waves) > 1:
        text += f", in {len(waves)} waves"
    if line.action not in ("create",):
        text += f" (as {members[0].address}: {members[0].reason})"
    return text


def _diff_block(lines: Iterable[Line]) -> list[str]:
    body = [f"{MARKS[line.action]} {code_line(line_text(line))}" for line in lines]
    return ["```diff", *body, "```"] if body else []


# -- sections ------------------------------------------------------------------------------


def _counts_text(changes: Sequence[Change]) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(
        f"{n} {VERBS.get(action, action).removesuffix('s') if n == 1 and action in ('action', 'conflict') else VERBS.get(action, action)}"
        for action, n in counts.items()
    )


def _warnings(plan: Plan) -> list[str]:
    """The spec set's warnings the plan carries, and the target's (CI on the emulator)."""
    found = [
        warning_text(w) if isinstance(w, dict) else str(w) for w in getattr(plan, "warnings", None) or []
    ]
    where = getattr(plan, "target", None)
    if isinstance(where, dict) and where.get("warning"):
        found.insert(0, where["warning"])
    return found


def _target_text(plan: Plan, target: str | None) -> str:
    where = getattr(plan, "target", None)
    if isinstance(where, dict) and where:  # what the target said of itself when the plan was made
        return md_text(target_text(where))
    named = target or (where if isinstance(where, str) else None)
    text = md_text(named) if named else "Azure"
    if plan.subscription:
        text += f", subscription {code_span(plan.subscription)}"
    return text


def _header(plan: Plan, target: str | None) -> list[str]:
    title = "imagepipe destroy" if plan.destroy else "imagepipe plan"
    lines = [
        f"<!-- imagepipe:plan stack={_marker_value(plan.stack)} -->",
        f"### {title}: stack {code_span(plan.stack)}",
        "",
        f"**Target:** {_target_text(plan, target)}",
        "",
        f"**{plan.summary()}**"
        if plan.has_changes
        else "**No changes.** The infrastructure matches the specs.",
    ]
    estimate = plan_estimate_seconds(plan)
    if estimate is not None and plan.has_changes:
        lines += ["", f"**Estimated duration:** {estimate_text(estimate)}"]
    if plan.conflicts:
        lines += [
            "",
            f"**{len(plan.conflicts)} conflict{'s' if len(plan.conflicts) != 1 else ''}: "
            "apply refuses to run until they are resolved.**",
        ]
    return lines


def _attention(plan: Plan) -> list[list[str]]:
    """Warnings, conflicts, replacements and deletions: expanded, before the documents."""
    blocks: list[list[str]] = []
    warnings = _warnings(plan)
    if warnings:
        blocks.append(["#### Warnings", "", *(f"- {md_text(w)}" for w in warnings)])
    if plan.conflicts:
        blocks.append(["#### Conflicts", "", *_diff_block(Line("conflict", [c]) for c in plan.conflicts)])
    destructive = [c for c in plan.changes if c.action in ("replace", "delete")]
    if destructive:
        blocks.append(["#### Replacements and deletions", "", *_diff_block(group_lines(destructive))])
    if plan.outside and (plan.prune or plan.destroy):
        outside = [
            f"! {code_line(rid)}  not deleted: outside the stack's resource groups" for rid in plan.outside
        ]
        blocks.append(["#### Outside the stack's resource groups", "", "```diff", *outside, "```"])
    if plan.kept:
        kept = [f"! {code_line(k['address'])}  {code_line(k['reason'])}" for k in plan.kept]
        blocks.append(["#### Kept while in use (not deleted)", "", "```diff", *kept, "```"])
    return blocks


SHARED = "Resource groups and virtual networks"
_SHARED_KINDS = ("ResourceGroup/", "VirtualNetwork/")


def _documents(plan: Plan) -> OrderedDict[str, list[Change]]:
    """Changes by document; the shared groups and networks (no document of their own) together."""
    groups: OrderedDict[str, list[Change]] = OrderedDict()
    for change in plan.changes:
        if change.action != "no-op":
            document = change.document or change.address
            groups.setdefault(SHARED if document.startswith(_SHARED_KINDS) else document, []).append(change)
    return groups


def _document_block(document: str, changes: Sequence[Change]) -> list[str]:
    summary = f"<b>{html_text(document)}</b>: {html_text(_counts_text(changes))}"
    # The blank line after </summary> lets the code block render (GitHub needs it).
    return [
        "<details>",
        f"<summary>{summary}</summary>",
        "",
        *_diff_block(group_lines(changes)),
        "",
        "</details>",
    ]


def _footer(plan: Plan) -> list[str]:
    lines: list[str] = []
    unchanged = sum(1 for c in plan.changes if c.action == "no-op")
    if unchanged:
        lines.append(f"{unchanged} steps unchanged.")
    if plan.undescribed and not plan.prune and not plan.destroy:
        lines.append(
            f"{plan.undescribed} owned resources are no longer described by the specs "
            "(`apply --prune` deletes them)."
        )
    return lines


def _size(lines: Sequence[str]) -> int:
    return len("\n".join(lines).encode("utf-8")) + 1


def _shrunk(block: list[str], room: int) -> list[str] | None:
    """``block`` with as many lines of its code block as fit in ``room`` bytes, or None."""
    if "```diff" not in block:
        return None
    start = block.index("```diff") + 1
    end = block.index("```", start)
    body = block[start:end]

    def cut(kept: int) -> list[str]:
        more = f"  … and {len(body) - kept} more lines"
        return [*block[:start], *body[:kept], more, *block[end:]]

    low, high = 0, len(body) - 1  # the largest number of lines that fits, by bisection
    if _size(["", *cut(0)]) > room:
        return None
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if _size(["", *cut(middle)]) <= room else (low, middle - 1)
    return cut(low)


def _truncation_note(left_out: int, full_plan_at: str | None) -> list[str]:
    where = full_plan_at or "the job summary of this run and the saved plan file"
    more = f" {left_out} more sections are not shown." if left_out else ""
    return ["", f"> **Truncated** to stay under the size limit.{more} The full plan is in {where}."]


def render_plan_markdown(
    plan: Plan,
    *,
    target: str | None = None,
    full_plan_at: str | None = None,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The plan as Markdown, at most ``limit`` bytes, the headline outside any ``<details>``.

    ``target`` names the cloud (e.g. ``Azure``); ``full_plan_at`` (Markdown, the caller's own
    text: never a value read from Azure) says where a reader finds the whole plan when this
    one is truncated (a link to the run, the artifact's name).
    """
    head = _header(plan, target)
    blocks = _attention(plan)
    documents = _documents(plan)
    blocks += [_document_block(doc, changes) for doc, changes in documents.items()]
    tail = _footer(plan)
    out = list(head)
    used = _size(out)  # _size is additive over joined lists: no re-join per block
    # Room for the footer and a truncation note, whichever is needed.
    reserve = _size(["", *tail]) + _size(_truncation_note(10**9, full_plan_at))
    for position, block in enumerate(blocks):
        room = limit - reserve - used
        fitted = block if _size(["", *block]) <= room else _shrunk(block, room)
        if fitted is not None:
            out += ["", *fitted]
            used += _size(["", *fitted])
        if fitted is None or fitted is not block:  # nothing after a cut section: it would mislead
            out += _truncation_note(len(blocks) - position - (fitted is not None), full_plan_at)
            break
    if tail:
        out += ["", *tail]
    return "\n".join(out) + "\n"
