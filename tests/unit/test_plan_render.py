"""The plan for people: grouped by document, one symbol per action, reasons, the summary line."""

from __future__ import annotations

import io

from rich.console import Console

from imagepipe.plan.model import Change, Plan
from imagepipe.render.plan import plan_json, plan_text


def render(plan: Plan) -> str:
    buffer = io.StringIO()
    plan_text(plan, Console(file=buffer, width=200, color_system=None))
    return buffer.getvalue()


def test_changes_are_grouped_by_document_with_their_symbols_and_reasons() -> None:
    plan = Plan(
        "web",
        undescribed=3,
        changes=[
            Change("create", "Deployment/web/vm[0]", "VM web-00 does not exist", "Deployment/web"),
            Change("update", "Deployment/web/vm[1]", "VM web-01: size A -> B", "Deployment/web"),
            Change(
                "replace", "Deployment/web/vm[2]", "VM web-02: image cannot change in place", "Deployment/web"
            ),
            Change("action", "Capture/c/generalize", "generalize VM src (irreversible)", "Capture/c"),
            Change("conflict", "Capture/c/image", "image exists from another source", "Capture/c"),
            Change("no-op", "ResourceGroup/rg", "up to date", "ResourceGroup/rg"),
        ],
    )
    text = render(plan)
    assert "+ Deployment/web/vm[0]  VM web-00 does not exist" in text
    assert "~ Deployment/web/vm[1]" in text and "± Deployment/web/vm[2]" in text
    assert "> Capture/c/generalize" in text and "! Capture/c/image" in text
    assert "ResourceGroup/rg" not in text  # no-ops are counted, not listed
    assert "1 steps unchanged." in text
    assert "3 owned resources are no longer described" in text
    assert "Plan: 1 to create, 1 to change, 1 to replace, 0 to delete, 1 actions." in text
    assert "1 conflicts: apply refuses" in text
    assert text.index("Deployment/web\n") < text.index("Capture/c\n")


def test_an_empty_plan_says_so() -> None:
    text = render(Plan("web", changes=[Change("no-op", "ResourceGroup/rg", "up to date")]))
    assert "No changes." in text
    assert "Plan: 0 to create, 0 to change, 0 to replace, 0 to delete, 0 actions." in text


def test_json_is_one_object_with_every_change() -> None:
    import json

    plan = Plan(
        "web", changes=[Change("delete", "Deployment/web/vm[9]", "no spec describes it", "Deployment/web")]
    )
    data = json.loads(plan_json(plan))
    assert data["changes"][0]["action"] == "delete" and data["summary"] == {"delete": 1}
