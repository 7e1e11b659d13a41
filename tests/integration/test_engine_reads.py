"""Planning reads in batches: the number of reads does not grow with the number of VMs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import admin, apply, plan

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.steps.port import ProviderError

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


def test_lists_are_read_whole_and_their_failures_keep_azures_error(azure: Azure) -> None:
    """Lists are streamed in big blocks: every page arrives whole, a missing group lists nothing,
    and a failed list still carries Azure's code and message (its body is read before the error)."""
    big_tags = {f"tag{i}": "x" * 200 for i in range(40)}  # 8 KB a group: more than one block of 4 KB
    for i in range(3):
        group = {"type": r.RESOURCE_GROUP, "name": f"reads-{i}", "resource_group": f"reads-{i}"}
        azure.create(group | {"location": "eastus", "tags": big_tags, "properties": {}}).wait()
    listed = {g["name"]: g for g in azure.list_resource_groups()}
    assert all(listed[f"reads-{i}"]["tags"] == big_tags for i in range(3))
    assert azure.list(r.VM, "no-such-rg") == []
    azure.subscription_id = "00000000-0000-4000-8000-0000000000ff"  # a subscription ARM does not know
    with pytest.raises(ProviderError) as failed:
        azure.list_all(r.VM)
    assert failed.value.code == "SubscriptionNotFound"
    assert "could not be found" in failed.value.provider_message
