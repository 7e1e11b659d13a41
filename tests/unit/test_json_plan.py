"""The plan for policy tools (plan -o json): valid against its schema in the package, Terraform's
action vocabulary, ARM types, and no secret value even as a reference."""

from __future__ import annotations

import json

from imagepipe.plan.model import Change, Plan
from imagepipe.render.json_plan import arm_type, plan_document, plan_document_problem, render_plan_json

SUB = "00000000-0000-4000-8000-0000000000aa"
RG = f"/subscriptions/{SUB}/resourceGroups/images-rg"
VERSION = f"{RG}/providers/Microsoft.Compute/galleries/g/images/web/versions/1.0.0"


def plan() -> Plan:
    vm_after = {
        "name": "web-00",
        "resource_group": "web-rg",
        "properties": {
            "admin_password": "(env:IMAGEPIPE_PW)",
            "ssh_public_key": "ssh-ed25519 AAAA...",
            "size": "B2s",
        },
    }
    return Plan(
        "web",
        [
            Change(
                "create",
                "Deployment/web/vm[0]",
                "VM web-00 does not exist",
                "Deployment/web",
                f"/subscriptions/{SUB}/resourceGroups/web-rg/providers/Microsoft.Compute/virtualMachines/web-00",
                None,
                vm_after,
            ),
            Change(
                "replace",
                "Deployment/web/vm[1]",
                "image cannot change in place",
                "Deployment/web",
                f"/subscriptions/{SUB}/resourceGroups/web-rg/providers/Microsoft.Compute/virtualMachines/web-01",
                {"name": "web-01"},
                {"name": "web-01"},
            ),
            Change(
                "delete",
                "Capture/old/gallery-version",
                "no spec describes it",
                "Capture/old",
                VERSION,
                {"name": "1.0.0"},
            ),
            Change(
                "action",
                "Capture/c/generalize",
                "generalize VM src (irreversible)",
                "Capture/c",
                f"{RG}/providers/Microsoft.Compute/virtualMachines/src",
            ),
            Change(
                "conflict",
                "Capture/c/image",
                "not owned",
                "Capture/c",
                f"{RG}/providers/Microsoft.Compute/images/i",
            ),
            Change(
                "no-op",
                "ResourceGroup/images-rg",
                "up to date",
                "ResourceGroup/images-rg",
                RG,
                {"name": "images-rg"},
            ),
        ],
        subscription=SUB,
        prune=True,
    )


def test_document_follows_its_schema_and_terraforms_vocabulary() -> None:
    document = json.loads(render_plan_json(plan(), target="Azure"))
    assert plan_document_problem(document) is None
    assert document["format_version"] == "1.0" and document["applyable"] is False
    assert document["target"] == {"cloud": "Azure", "subscription": SUB}
    by_address = {c["address"]: c for c in document["resource_changes"]}
    assert by_address["Deployment/web/vm[0]"]["change"]["actions"] == ["create"]
    assert by_address["Deployment/web/vm[1]"]["change"]["actions"] == ["delete", "create"]
    assert by_address["Capture/c/generalize"]["change"]["actions"] == ["update"]
    assert by_address["Capture/c/image"]["change"]["actions"] == ["no-op"]
    assert document["summary"]["conflict"] == 1 and document["summary"]["create"] == 1


def test_a_policy_can_refuse_a_plan_that_deletes_a_gallery_version() -> None:
    document = plan_document(plan())
    deleting = [
        c["address"]
        for c in document["resource_changes"]
        if c["type"] == "Microsoft.Compute/galleries/images/versions" and "delete" in c["change"]["actions"]
    ]
    assert deleting == ["Capture/old/gallery-version"]


def test_secrets_are_withheld_and_flagged() -> None:
    text = render_plan_json(plan())
    assert "IMAGEPIPE_PW" not in text and "AAAA" not in text
    vm = next(c for c in plan_document(plan())["resource_changes"] if c["address"] == "Deployment/web/vm[0]")
    assert vm["change"]["after"]["properties"]["admin_password"] == "(sensitive)"
    assert vm["change"]["after_sensitive"] == {"properties": {"admin_password": True, "ssh_public_key": True}}
    assert vm["change"]["before_sensitive"] is False


def test_a_document_that_breaks_the_schema_is_named() -> None:
    document = plan_document(plan())
    document["resource_changes"][0]["change"]["actions"] = ["destroy"]
    assert "resource_changes[0].change.actions" in (plan_document_problem(document) or "")


def test_arm_types_from_ids_in_both_forms() -> None:
    assert arm_type(VERSION) == "Microsoft.Compute/galleries/images/versions"
    planned = f"{RG}/providers/Microsoft.Compute/galleries/images/versions/g/web/1.0.0"
    assert arm_type(planned) == "Microsoft.Compute/galleries/images/versions"
    assert arm_type(f"{RG}/providers/Microsoft.Compute/virtualMachines/v/runCommands/r") == (
        "Microsoft.Compute/virtualMachines/runCommands"
    )
    assert arm_type(RG) == "Microsoft.Resources/resourceGroups"
    assert arm_type(None) is None
