"""Deletions converge like every other step: a retryable Azure error is retried, then verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_helpers import CONFIG, admin, apply, copy_learn, journal, plan

from imagepipe.app.run import destroy
from imagepipe.app.session import open_session
from imagepipe.apply.events import Event
from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target


def test_a_deletion_hit_by_a_transient_fault_is_retried_and_converges(
    tmp_path: Path, target: Target, azure: Azure, emulator: Any
) -> None:
    folder = copy_learn(tmp_path)
    assert apply(target, folder).result.ok
    # Seed 1 at one half: the image's first delete ends Failed with a retryable code, the second succeeds.
    fault = {"operation": "Images_Delete", "lro_error": "InternalExecutionError", "probability": 0.5}
    admin(emulator, "faults", {"seed": 1, "rules": [fault]})

    events: list[Event] = []
    with open_session([folder], CONFIG, target=target) as session:
        outcome = destroy(session, on_event=events.append)
    admin(emulator, "faults", [])

    assert outcome.result is not None and outcome.result.ok, outcome.result and outcome.result.failures
    deletes = [op["status"] for op in journal(emulator) if op["name"] == "Images_Delete"]
    assert deletes == ["Failed", "Succeeded"]
    retries = [e for e in events if e.kind == "retry"]
    assert [e.address for e in retries] == ["Capture/my-image/image"]
    assert "InternalExecutionError" in retries[0].message
    assert azure.get(r.IMAGE, "learn-rg", "myImage") is None
    assert azure.owned("learn-exercise") == []
    assert plan(target, folder).counts()["create"] > 0  # nothing of the stack is left
