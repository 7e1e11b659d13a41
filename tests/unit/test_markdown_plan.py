"""The plan as a pull-request comment: the layout a reviewer relies on (marker, target and
headline first and outside any <details>, destructive changes expanded, fan-outs on one line),
the size limit for any plan, and escaping of every string read from Azure.

The 1,000-VM golden is ``tests/golden/markdown/fleet-1000.md``; regenerate it after an
intended change with ``IMAGEPIPE_UPDATE_GOLDEN=1`` and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

from markdown_it import MarkdownIt

from imagepipe.plan.model import Change, Plan
from imagepipe.render.markdown import COMMENT_LIMIT, SUMMARY_LIMIT, image_text, render_plan_markdown

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "markdown"
SUB = "00000000-0000-4000-8000-0000000000aa"
GALLERY_VERSION = (
    f"/subscriptions/{SUB}/resourceGroups/images-rg/providers/Microsoft.Compute/galleries/"
    "fleetgallery/images/web/versions/1.0.1"
)


def vm_change(action: str, deployment: str, index: int, reason: str | None = None) -> Change:
    name = f"{deployment}-{index:02d}"
    state = {"name": name, "resource_group": "fleet-rg", "properties": {"image": GALLERY_VERSION}}
    return Change(
        action,  # type: ignore[arg-type]
        f"Deployment/{deployment}/vm[{index}]",
        reason or f"VM {name} does not exist",
        f"Deployment/{deployment}",
        resource_id=f"/subscriptions/{SUB}/resourceGroups/fleet-rg/providers/Microsoft.Compute/virtualMachines/{name}",
        before=state if action in ("delete", "replace", "update") else None,
        after=state if action != "delete" else None,
    )


def thousand_vm_plan() -> Plan:
    """A capture to a gallery version fanned out to 1,000 VMs in ten regions, with a resize,
    a replacement, pruned VMs, a conflict and a resource outside the stack's groups."""
    changes = [
        Change(
            "create",
            "ResourceGroup/fleet-rg",
            "resource group fleet-rg does not exist",
            "ResourceGroup/fleet-rg",
        ),
        Change("action", "Capture/web/generalize", "generalize VM web-build (irreversible)", "Capture/web"),
        Change(
            "create",
            "Capture/web/gallery-version",
            "gallery image version fleetgallery/web/1.0.1 does not exist",
            "Capture/web",
        ),
        Change(
            "conflict", "Capture/web/image", "image web exists and is not owned by stack fleet", "Capture/web"
        ),
    ]
    regions = ["east", "west", "north", "south", "central", "eu", "asia", "uk", "fr", "de"]
    for region in regions:
        deployment = f"web-{region}"
        changes += [vm_change("create", deployment, i) for i in range(100)]
    changes += [
        vm_change("update", "web-east", i, f"VM web-east-{i:02d}: size Standard_B2s -> Standard_B4ms")
        for i in range(100, 110)
    ]
    changes += [vm_change("replace", "web-west", 100, "VM web-west-100: the image cannot change in place")]
    changes += [
        vm_change("delete", "old-web", i, "no spec describes it any more (--prune)") for i in range(30)
    ]
    changes += [Change("no-op", "ResourceGroup/images-rg", "up to date", "ResourceGroup/images-rg")]
    return Plan(
        "fleet",
        changes,
        subscription=SUB,
        prune=True,
        outside=[f"/subscriptions/{SUB}/resourceGroups/elsewhere/providers/Microsoft.Compute/disks/stray"],
    )


def tokens(markdown: str) -> list:
    return MarkdownIt("commonmark").parse(markdown)


def depth_of(markdown: str, text: str) -> int:
    """How many <details> are open where ``text`` first appears in the parsed document."""
    depth = 0
    for token in tokens(markdown):
        if token.type == "html_block":
            depth += token.content.count("<details>") - token.content.count("</details>")
        elif text in token.content:
            return depth
    raise AssertionError(f"{text!r} not found")


def test_marker_target_and_headline_come_first_and_outside_any_details() -> None:
    plan = thousand_vm_plan()
    markdown = render_plan_markdown(plan, target="Azure")
    lines = markdown.splitlines()
    assert lines[0] == "<!-- imagepipe:plan stack=fleet -->"
    assert markdown.index("**Target:** Azure") < markdown.index("Plan: ") < markdown.index("<details>")
    assert depth_of(markdown, plan.summary()) == 0
    assert depth_of(markdown, "Replacements and deletions") == 0
    assert depth_of(markdown, "1 conflict: apply refuses") == 0


def test_fanouts_are_one_line_and_destructive_changes_come_first_expanded() -> None:
    markdown = render_plan_markdown(thousand_vm_plan(), target="Azure")
    assert "+ 100 VMs web-east-00 … web-east-99 from gallery version fleetgallery/web/1.0.1" in markdown
    assert "- 30 VMs old-web-00 … old-web-29" in markdown
    destructive = markdown.index("#### Replacements and deletions")
    assert destructive < markdown.index("<details>")
    assert markdown.index("-/+ Deployment/web-west/vm[100]") < markdown.index("<details>")
    assert "~ 10 VMs web-east-100 … web-east-109" in markdown
    assert "stray  not deleted: outside the stack's resource groups" in markdown


def test_every_code_block_renders_inside_its_details() -> None:
    markdown = render_plan_markdown(thousand_vm_plan(), target="Azure")
    fences = [t for t in tokens(markdown) if t.type == "fence"]
    assert len(fences) == markdown.count("```diff")
    assert all(f.info == "diff" for f in fences)
    assert "</summary>\n\n```diff" in markdown  # the blank line that lets GitHub render the block


def test_thousand_vm_plan_matches_its_golden_and_stays_small() -> None:
    markdown = render_plan_markdown(thousand_vm_plan(), target="Azure")
    assert len(markdown.encode()) < 10_000  # fan-outs keep it far under the limit
    golden = GOLDEN / "fleet-1000.md"
    if os.environ.get("IMAGEPIPE_UPDATE_GOLDEN"):
        golden.write_text(markdown, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing: run with IMAGEPIPE_UPDATE_GOLDEN=1 and review it"
    assert markdown == golden.read_text(encoding="utf-8")


def test_any_plan_stays_under_the_comment_limit_and_says_where_the_full_plan_is() -> None:
    # 3,000 deletions that cannot be grouped (tag-given addresses): far over 60,000 characters.
    changes = [
        Change(
            "delete",
            f"Orphan/thing-{i}-{'x' * 40}",
            f"disk thing-{i}: no spec describes it",
            f"Orphan/group-{i % 300}",
        )
        for i in range(3000)
    ] + [vm_change("create", "web", i) for i in range(1000)]
    plan = Plan("big", changes, subscription=SUB, prune=True)
    markdown = render_plan_markdown(
        plan, target="Azure", full_plan_at="[the job summary](https://example.invalid/run/1)"
    )
    assert len(markdown.encode()) <= COMMENT_LIMIT
    assert plan.summary() in markdown
    assert "**Truncated**" in markdown and "[the job summary](https://example.invalid/run/1)" in markdown
    assert "more lines" in markdown
    assert depth_of(markdown, "Truncated") == 0
    # The same plan in a job summary (1 MiB) is shown in full.
    whole = render_plan_markdown(plan, target="Azure", limit=SUMMARY_LIMIT)
    assert "Truncated" not in whole and len(whole.encode()) <= SUMMARY_LIMIT


def test_strings_read_from_azure_cannot_restyle_mention_or_command() -> None:
    hostile = "@platform-team ##vso[task.setvariable variable=x]1 ##[error]boom <img src=x> [click](https://evil.example) `tick`\n::add-mask::x"
    plan = Plan(
        "web",
        [
            Change(
                "delete", f"Deployment/web/vm[0]{hostile}", f"VM web-00: {hostile}", f"Deployment/{hostile}"
            ),
            Change("create", "Deployment/web/vm[1]", f"VM web-01 {hostile}", "Deployment/web"),
        ],
        subscription=SUB,
        prune=True,
        outside=[hostile],
    )
    plan.warnings = [f"tag {hostile}"]  # type: ignore[attr-defined]  # warnings the plan may carry
    markdown = render_plan_markdown(plan, target="Azure")
    assert "\n- tag @\u2060platform" in markdown  # the warning is shown, escaped
    assert "##vso[" not in markdown and "##[" not in markdown
    assert "@platform-team" not in markdown  # a word joiner after @: no notification
    assert not any(line.startswith("::") for line in markdown.splitlines())  # no workflow command
    for token in tokens(markdown):
        assert not (token.type == "html_block" and "<img" in token.content), token  # <summary> escapes
        for child in token.children or []:
            assert child.type not in ("link_open", "image", "html_inline"), child


def test_image_references_read_as_a_reviewer_names_them() -> None:
    assert image_text(GALLERY_VERSION) == "gallery version fleetgallery/web/1.0.1"
    planned = f"/subscriptions/{SUB}/resourceGroups/r/providers/Microsoft.Compute/galleries/images/versions/g/web/2.0.0"
    assert image_text(planned) == "gallery version g/web/2.0.0"
    assert (
        image_text(f"/subscriptions/{SUB}/resourceGroups/r/providers/Microsoft.Compute/images/golden")
        == "image golden"
    )
    assert (
        image_text("Canonical:ubuntu-24_04-lts:server:latest")
        == "marketplace image Canonical:ubuntu-24_04-lts:server:latest"
    )
