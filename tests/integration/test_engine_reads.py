"""Planning reads in batches: the number of reads does not grow with the number of VMs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from engine_helpers import admin, apply, plan

from imagepipe.azure.target import Target

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def with_count(tmp_path: Path, count: int) -> Path:
    folder = shutil.copytree(GOLDEN / "scaled-up" / "specs", tmp_path / f"count-{count}")
    spec = folder / "learn-exercise.yaml"
    spec.write_text(spec.read_text().replace("count: 3", f"count: {count}"))
    return folder


def gets(emulator: Any) -> int:
    return admin(emulator, "stats")["requests"].get("GET", 0)


def test_plan_reads_do_not_grow_with_the_number_of_vms(tmp_path: Path, target: Target, emulator: Any) -> None:
    small, large = with_count(tmp_path, 2), with_count(tmp_path, 12)
    assert apply(target, large).result.ok

    before = gets(emulator)
    assert plan(target, small).undescribed == 10  # ten VMs beyond count 2 (each with the NIC it made)
    small_reads = gets(emulator) - before

    before = gets(emulator)
    assert not plan(target, large).has_changes
    large_reads = gets(emulator) - before
    assert large_reads == small_reads
