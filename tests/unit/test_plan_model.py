"""A plan is data: it round-trips through JSON and summarises itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagepipe.plan.model import Change, Plan, digest, read_plan_file, spec_fingerprint


def sample_plan() -> Plan:
    return Plan(
        stack="web",
        paths=["specs/web"],
        spec_fingerprint="abc",
        subscription="sub",
        undescribed=2,
        changes=[
            Change("create", "ResourceGroup/rg", "resource group rg does not exist", "ResourceGroup/rg"),
            Change(
                "update", "Deployment/web/vm[0]", "size changed", "Deployment/web", "/x", {"a": 1}, {"a": 2}
            ),
            Change("replace", "Deployment/web/vm[1]", "image cannot change in place", "Deployment/web"),
            Change("action", "Capture/c/generalize", "generalize VM", "Capture/c"),
            Change("no-op", "Capture/c/image", "image exists", "Capture/c"),
        ],
    )


def test_plan_round_trips_through_a_plan_file(tmp_path: Path) -> None:
    plan = sample_plan()
    plan.spec_fingerprint = "0123456789abcdef"
    path = tmp_path / "plan.json"
    plan.save(path)

    assert read_plan_file(path) == plan


def test_summary_counts_updates_and_replacements_as_changes() -> None:
    assert sample_plan().summary() == "Plan: 1 to create, 1 to change, 1 to replace, 0 to delete, 1 actions."


def test_a_plan_of_no_ops_has_no_changes() -> None:
    plan = Plan("web", changes=[Change("no-op", "ResourceGroup/rg", "up to date")])
    assert not plan.has_changes


def test_unknown_plan_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        Plan.from_json({"format": 99, "stack": "x"})


def test_spec_fingerprint_follows_file_content(tmp_path: Path) -> None:
    spec = tmp_path / "a.yaml"
    spec.write_text("one")
    first = spec_fingerprint([spec])
    spec.write_text("two")
    assert spec_fingerprint([spec]) != first


def test_digest_uses_secret_references_not_values() -> None:
    from imagepipe.spec.secrets import SecretRef

    ref = SecretRef("env", "ADMIN_PASSWORD")
    assert digest({"password": ref}) == digest({"password": SecretRef("env", "ADMIN_PASSWORD")})
    assert len(digest({"x": 1})) == 12
