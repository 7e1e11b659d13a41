"""Kill `imagepipe apply` (SIGKILL) at several points; the next apply finishes the job with
nothing created twice and no second deprovision or generalize."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import LEARN_VM, apply, apply_until, copy_learn, journal, plan

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import connect_emulator
from imagepipe.emulator import start_emulator

# Slow enough that each operation is still running when the kill lands.
RESUME_SPEED = 150.0


@pytest.fixture
def slow_emulator(tmp_path: Path) -> Iterator[Any]:
    with start_emulator(tmp_path / "slow-state", speed=RESUME_SPEED, throttling=False) as em:
        yield em


# Two kill points by default (inside the capture, and in the fan-out); every point in the slow suite.
@pytest.mark.parametrize(
    "trigger",
    [
        pytest.param("+ SourceVM/source/vm:", marks=pytest.mark.slow),
        pytest.param("> SourceVM/source/customize[0]:", marks=pytest.mark.slow),
        pytest.param("> Capture/my-image/deprovision:", marks=pytest.mark.slow),
        pytest.param("> Capture/my-image/deallocate:", marks=pytest.mark.slow),
        "> Capture/my-image/generalize:",
        pytest.param("+ Capture/my-image/image:", marks=pytest.mark.slow),
        "+ Deployment/new-vm/vm[0]:",
    ],
)
def test_kill_and_rerun_converges(tmp_path: Path, slow_emulator: Any, trigger: str) -> None:
    folder = copy_learn(tmp_path)
    killed = apply_until(slow_emulator, folder, trigger, tmp_path)
    assert trigger in killed.output, killed.output
    assert killed.in_flight, f"the kill did not land mid-operation:\n{killed.output}"

    target = connect_emulator(slow_emulator, polling_interval=0.02)
    try:
        outcome = apply(target, folder)
        assert outcome.result is None or outcome.result.ok, outcome.result.failures
        assert not plan(target, folder).has_changes

        azure = Azure(target)
        vms = sorted(vm["name"] for vm in azure.list(r.VM, "learn-rg"))
        assert vms == sorted(["myVM", LEARN_VM])
        assert [i["name"] for i in azure.list(r.IMAGE, "learn-rg")] == ["myImage"]
        operations = Counter(op["name"] for op in journal(slow_emulator))
        assert operations["VirtualMachines_Generalize"] == 1
        runs = [
            op for op in journal(slow_emulator) if op["name"] == "VirtualMachineRunCommands_CreateOrUpdate"
        ]
        deprovisions = [op for op in runs if "imagepipe-deprovision" in op["resourceId"]]
        assert len(deprovisions) == 1
        customizes = [op for op in runs if "imagepipe-customize" in op["resourceId"]]
        assert len(customizes) == 1
    finally:
        target.close()
