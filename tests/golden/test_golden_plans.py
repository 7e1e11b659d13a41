"""Golden plans: a spec set and an emulator state (made by applying ``before/``) give exactly
the plan in ``expected.json``. Regenerate after an intended change with
``IMAGEPIPE_UPDATE_GOLDEN=1 pytest tests/golden`` and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from imagepipe.app.run import apply_specs
from imagepipe.app.session import open_session
from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator
from imagepipe.plan.planner import make_plan
from imagepipe.target_config import TargetConfig

CASES = sorted(p for p in Path(__file__).parent.iterdir() if (p / "specs").is_dir())
CONFIG = TargetConfig(target="local")


def normalized(plan_json: dict[str, Any], subscription: str) -> dict[str, Any]:
    """The plan without what depends on where it ran (paths, subscription id, file bytes)."""
    text = json.dumps(plan_json).replace(subscription, "<subscription>")
    data = json.loads(text)
    for volatile in ("paths", "spec_fingerprint", "subscription", "target"):
        data.pop(volatile, None)
    for change in data["changes"]:
        change.pop("observed", None)
    return data


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_plan(case: Path, tmp_path: Path) -> None:
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        target = connect_emulator(em, polling_interval=0.02)
        try:
            if (case / "before").is_dir():
                with open_session([case / "before"], CONFIG, target=target) as session:
                    outcome = apply_specs(session)
                    assert outcome.result is None or outcome.result.ok, outcome.result.failures
            with open_session([case / "specs"], CONFIG, target=target) as session:
                plan = make_plan(session.specset, session.graph, session.azure, paths=["specs"]).plan
            actual = normalized(plan.to_json(), target.subscription_id)
        finally:
            target.close()
    expected_file = case / "expected.json"
    if os.environ.get("IMAGEPIPE_UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(actual, indent=2) + "\n")
    assert expected_file.exists(), (
        f"{expected_file} is missing: run with IMAGEPIPE_UPDATE_GOLDEN=1 and review it"
    )
    assert actual == json.loads(expected_file.read_text())
