"""Golden pull-request comments of the example stacks (specs/), planned against an empty
emulator: ``markdown/<stack>.md``. Their JSON plans follow the published schema. Regenerate
after an intended change with ``IMAGEPIPE_UPDATE_GOLDEN=1 pytest tests/golden`` and review."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagepipe.app.session import open_session
from imagepipe.azure.target import Target, connect_emulator
from imagepipe.emulator import start_emulator
from imagepipe.plan.planner import make_plan
from imagepipe.render.json_plan import plan_document, plan_document_problem
from imagepipe.render.markdown import COMMENT_LIMIT, render_plan_markdown
from imagepipe.target_config import TargetConfig

REPO = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name for p in (REPO / "specs").iterdir() if p.is_dir())
GOLDEN = Path(__file__).parent / "markdown"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with start_emulator(tmp_path_factory.mktemp("state"), speed=1000, throttling=False) as em:
        connected = connect_emulator(em, polling_interval=0.02)
        try:
            yield connected
        finally:
            connected.close()


@pytest.mark.parametrize("stack", STACKS)
def test_example_stack_comment_matches_its_golden(stack: str, target: Target) -> None:
    with open_session([REPO / "specs" / stack], TargetConfig(target="local"), target=target) as session:
        plan = make_plan(session.specset, session.graph, session.azure, paths=[f"specs/{stack}"]).plan
    plan.subscription = plan.subscription.replace(target.subscription_id, "<subscription>")
    plan.target = {
        k: "<" + k + ">" if k in ("state", "subscription", "endpoint") else v for k, v in plan.target.items()
    }
    markdown = render_plan_markdown(plan, target="local emulator")
    assert len(markdown.encode()) <= COMMENT_LIMIT
    assert plan_document_problem(plan_document(plan, target="local emulator")) is None
    golden = GOLDEN / f"{stack}.md"
    if os.environ.get("IMAGEPIPE_UPDATE_GOLDEN"):
        golden.write_text(markdown, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing: run with IMAGEPIPE_UPDATE_GOLDEN=1 and review it"
    assert markdown == golden.read_text(encoding="utf-8")
