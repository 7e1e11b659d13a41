"""The job summary of an apply (outcome per document, failures with their cause, the measured
time against the estimate) and the plan's duration estimate, read from what the plan carries."""

from __future__ import annotations

import json
from types import SimpleNamespace

from imagepipe.apply.executor import ApplyResult, StepOutcome
from imagepipe.plan.model import Change, Plan
from imagepipe.render.json_plan import plan_document_problem, render_plan_json
from imagepipe.render.markdown import render_plan_markdown
from imagepipe.render.step_summary import render_apply_markdown


def plan() -> Plan:
    return Plan(
        "web",
        [
            Change("create", f"Deployment/web/vm[{i}]", f"VM web-{i:02d} does not exist", "Deployment/web")
            for i in range(3)
        ],
        subscription="00000000-0000-4000-8000-0000000000aa",
    )


def test_the_estimate_the_plan_carries_is_shown_and_exported() -> None:
    for estimate, text in (
        (1500, "about 25 min"),
        ({"seconds": 40}, "about 40 s"),
        (SimpleNamespace(total_seconds=lambda: 7800.0), "about 2 h 10 min"),
    ):
        planned = plan()
        planned.estimate = estimate  # type: ignore[attr-defined]  # carried by plans that have one
        assert f"**Estimated duration:** {text}" in render_plan_markdown(planned, target="Azure")
        document = json.loads(render_plan_json(planned))
        assert plan_document_problem(document) is None and document["estimated_duration_s"] > 0
    assert "Estimated duration" not in render_plan_markdown(plan(), target="Azure")
    assert json.loads(render_plan_json(plan()))["estimated_duration_s"] is None


def test_apply_summary_has_the_outcome_per_document_failures_and_time_against_estimate() -> None:
    planned = plan()
    planned.estimate = 100  # type: ignore[attr-defined]
    result = ApplyResult(
        outcomes={
            "Deployment/web/vm[0]": StepOutcome("Deployment/web/vm[0]", "done", "create", "created"),
            "Deployment/web/vm[1]": StepOutcome(
                "Deployment/web/vm[1]", "failed", "create", "OperationNotAllowed: quota ##vso[task.complete]"
            ),
            "Deployment/web/vm[2]": StepOutcome(
                "Deployment/web/vm[2]", "skipped", message="a dependency failed"
            ),
        },
        started=0.0,
        ended=125.0,
    )
    text = render_apply_markdown(planned, result, target="Azure")
    assert text.startswith("<!-- imagepipe:apply stack=web -->\n")
    assert (
        "**Failed: 1 created, 0 changed, 0 deleted, 0 actions, 1 failed** in 2 min (estimated about 2 min)."
        in text
    )
    assert "! Deployment/web/vm[1]: OperationNotAllowed: quota \\x23#vso[task.complete]" in text
    assert "##vso[" not in text
    assert "##vso[" not in text
    assert "| Deployment/web | 1 | 0 | 0 | 0 | 1 | 1 |" in text
    assert "**No changes.**" in render_apply_markdown(planned, None)
