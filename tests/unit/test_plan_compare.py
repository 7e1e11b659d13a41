"""Compare: desired state from the specs against observed records, step by step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imagepipe.azure import records as r
from imagepipe.graph import build_graph
from imagepipe.spec import load_one
from imagepipe.steps.context import Context
from imagepipe.steps.desired.capture import image_desired
from imagepipe.steps.desired.names import script_hash
from imagepipe.steps.registry import handler_for

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
LEARN = Path(__file__).resolve().parents[2] / "specs" / "learn-exercise"


class RecordsObserver:
    """Observed state given as records (what the adapters would have returned)."""

    def __init__(self, *records: r.Record, run_commands: dict[tuple[str, str, str], r.Record] | None = None):
        self.records = {r.key(x["type"], x["resource_group"], x["name"]): x for x in records}
        self.run_commands = run_commands or {}

    def get(self, type_: str, rg: str, name: str) -> r.Record | None:
        return self.records.get(r.key(type_, rg, name))

    def vm(self, rg: str, name: str) -> r.Record | None:
        return self.get(r.VM, rg, name)

    def run_command(self, rg: str, vm: str, name: str) -> r.Record | None:
        return self.run_commands.get((rg.lower(), vm.lower(), name.lower()))

    def planned(self, type_: str, rg: str, name: str) -> r.Record | None:
        return self.get(type_, rg, name)


def context(path: Path = LEARN) -> Context:
    specset = load_one([path])
    return Context(specset, build_graph(specset), SUBSCRIPTION)


def record(type_: str, rg: str, name: str, tags: dict[str, str], **extra: Any) -> r.Record:
    rid = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}"
        if type_ == r.RESOURCE_GROUP
        else f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/{type_}/{name}"
    )
    rec: r.Record = {
        "type": type_,
        "id": rid,
        "name": name,
        "resource_group": rg,
        "location": "eastus",
        "tags": tags,
        "provisioning_state": "Succeeded",
        "properties": {},
    }
    rec.update(extra)
    return rec


def evaluate_all(ctx, obs) -> dict[str, object]:
    return {s.address: handler_for(s).evaluate(s, ctx, obs) for s in ctx.graph.steps()}


def desired_of(ctx, address: str, obs=None):
    step = ctx.graph.step(address)
    return handler_for(step).evaluate(step, ctx, obs or RecordsObserver()).desired


def owned_vm(ctx, address: str, **props):
    desired = desired_of(ctx, address)
    properties = {**desired["properties"], **props}
    return record(
        r.VM, desired["resource_group"], desired["name"], dict(desired["tags"]), properties=properties
    )


def test_an_empty_subscription_plans_every_step() -> None:
    ctx = context()
    actions = {a: ev.change.action for a, ev in evaluate_all(ctx, RecordsObserver()).items()}
    assert actions["SourceVM/source/vm"] == "create"
    assert actions["Capture/my-image/generalize"] == "action"
    assert actions["Deployment/new-vm/vm[0]"] == "create"
    assert all(ev_action != "no-op" for ev_action in actions.values())


def test_an_untagged_vm_with_a_wanted_name_is_a_conflict() -> None:
    ctx = context()
    stranger = record(r.VM, "learn-rg", "myVM", {}, properties={"image": "x", "size": "Standard_B1s"})
    ev = evaluate_all(ctx, RecordsObserver(stranger))["SourceVM/source/vm"]
    assert ev.change.action == "conflict"
    assert "untagged" in ev.change.reason


def test_a_vm_of_another_stack_is_a_conflict() -> None:
    ctx = context()
    other = record(r.VM, "learn-rg", "myVM", {"imagepipe-stack": "other"}, properties={})
    ev = evaluate_all(ctx, RecordsObserver(other))["SourceVM/source/vm"]
    assert ev.change.action == "conflict" and "stack other" in ev.change.reason


def test_a_resized_vm_is_an_update() -> None:
    ctx = context()
    vm = owned_vm(ctx, "Deployment/new-vm/vm[0]", size="Standard_B1s")
    ev = evaluate_all(ctx, RecordsObserver(vm))["Deployment/new-vm/vm[0]"]
    assert ev.change.action == "update"
    assert "Standard_B1s -> Standard_DS2_v2" in ev.change.reason


def test_changed_user_tags_are_an_update_and_a_matching_vm_is_a_no_op() -> None:
    ctx = context()
    vm = owned_vm(ctx, "Deployment/new-vm/vm[0]")
    assert evaluate_all(ctx, RecordsObserver(vm))["Deployment/new-vm/vm[0]"].change.action == "no-op"
    vm["tags"]["purpose"] = "changed by hand"
    assert evaluate_all(ctx, RecordsObserver(vm))["Deployment/new-vm/vm[0]"].change.action == "update"


def test_a_deployment_vm_creates_its_own_nic_in_the_deployments_subnet() -> None:
    ctx = context()
    nic = desired_of(ctx, "Deployment/new-vm/vm[0]")["properties"]["nic"]
    assert nic["name"].endswith("-nic")
    assert nic["subnet_id"].endswith("/virtualNetworks/learn-vnet/subnets/default")
    assert "Deployment/new-vm/nic[0]" not in ctx.graph  # no step (and no write) of its own


def test_a_nic_of_someone_else_with_the_name_a_new_vm_needs_is_a_conflict() -> None:
    ctx = context()
    desired = desired_of(ctx, "Deployment/new-vm/vm[0]")
    name = desired["properties"]["nic"]["name"]
    stranger = record(
        r.NIC, "learn-rg", name, {}, properties={"vm_id": "/subscriptions/x/virtualMachines/db1"}
    )
    ev = evaluate_all(ctx, RecordsObserver(stranger))["Deployment/new-vm/vm[0]"]
    assert ev.change.action == "conflict"
    assert f"network interface {name} is attached to db1" in ev.change.reason


def test_a_vm_whose_own_nic_is_in_another_subnet_is_replaced() -> None:
    ctx = context()
    vm = owned_vm(ctx, "Deployment/new-vm/vm[0]", nic_subnet_ids=["/subscriptions/x/subnets/old"])
    ev = evaluate_all(ctx, RecordsObserver(vm))["Deployment/new-vm/vm[0]"]
    assert ev.change.action == "replace" and "subnet" in ev.change.reason


def test_a_vm_on_another_image_is_replaced() -> None:
    ctx = context()
    vm = owned_vm(ctx, "Deployment/new-vm/vm[0]", image="/subscriptions/x/images/old")
    ev = evaluate_all(ctx, RecordsObserver(vm))["Deployment/new-vm/vm[0]"]
    assert ev.change.action == "replace" and "image" in ev.change.reason


def test_an_image_with_the_captures_hash_is_adopted_and_the_source_left_alone() -> None:
    ctx = context()
    desired = image_desired(ctx, ctx.document("Capture/my-image"))
    image = record(r.IMAGE, "learn-rg", "myImage", dict(desired["tags"]), properties={"data_luns": []})
    evs = evaluate_all(ctx, RecordsObserver(image))
    assert evs["Capture/my-image/image"].change.action == "no-op"
    for step in ("deprovision", "deallocate", "generalize"):
        change = evs[f"Capture/my-image/{step}"].change
        assert change.action == "no-op" and "not touched again" in change.reason


def test_an_image_from_another_source_is_never_replaced() -> None:
    ctx = context()
    desired = image_desired(ctx, ctx.document("Capture/my-image"))
    tags = {**desired["tags"], "imagepipe-hash": "000000000000"}
    image = record(r.IMAGE, "learn-rg", "myImage", tags, properties={"data_luns": []})
    change = evaluate_all(ctx, RecordsObserver(image))["Capture/my-image/image"].change
    assert change.action == "conflict" and "new image name" in change.reason


def test_a_generalized_source_is_not_generalized_again() -> None:
    ctx = context()
    vm = owned_vm(ctx, "SourceVM/source/vm")
    vm.update(os_state="generalized", power_state="deallocated")
    evs = evaluate_all(ctx, RecordsObserver(vm))
    assert evs["Capture/my-image/generalize"].change.action == "no-op"
    assert evs["Capture/my-image/deprovision"].change.action == "no-op"


def test_a_deprovision_that_succeeded_is_not_run_again() -> None:
    ctx = context()
    vm = owned_vm(ctx, "SourceVM/source/vm")
    vm.update(power_state="running")
    rc = record(
        r.RUN_COMMAND,
        "learn-rg",
        "imagepipe-deprovision",
        {},
        properties={"execution_state": "Succeeded", "exit_code": 0},
    )
    obs = RecordsObserver(vm, run_commands={("learn-rg", "myvm", "imagepipe-deprovision"): rc})
    evs = evaluate_all(ctx, obs)
    assert evs["Capture/my-image/deprovision"].change.action == "no-op"
    assert evs["Capture/my-image/deallocate"].change.action == "action"


def test_customize_scripts_recorded_on_the_vm_do_not_run_again() -> None:
    ctx = context()
    vm = owned_vm(ctx, "SourceVM/source/vm")
    script = ctx.document("SourceVM/source").create.customize[0].script
    vm["tags"]["imagepipe-customized"] = script_hash(script)
    evs = evaluate_all(ctx, RecordsObserver(vm))
    assert evs["SourceVM/source/customize[0]"].change.action == "no-op"
    assert evs["SourceVM/source/vm"].change.action == "no-op"  # the record tag is not drift


def test_a_plan_never_carries_a_secret_value(tmp_path, monkeypatch) -> None:
    ctx = context()
    key = (ctx.specset.root / "demo_id_ed25519.pub").read_text().strip()
    evs = evaluate_all(ctx, RecordsObserver())
    text = json.dumps([ev.change.to_json() for ev in evs.values()])
    assert key.split()[1] not in text
    assert "(file:demo_id_ed25519.pub)" in text
