"""Customize scripts of a created source VM: each runs once, in order.

The VM's tag ``imagepipe-customized`` lists the hashes of the scripts that ran,
updated after each; the managed Run Command carries the script's hash in its
name, so a kill between the run and the tag update does not run it twice.
"""

from __future__ import annotations

from typing import Any

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.graph.step import Step
from imagepipe.plan.context import TAG_CUSTOMIZED, Context
from imagepipe.plan.handlers import capture as capture_flow
from imagepipe.plan.handlers.base import Evaluation, Handler, StepFailed
from imagepipe.plan.handlers.naming import script_hash
from imagepipe.plan.observe import Observer
from imagepipe.spec.model import SourceVM


def ran_hashes(vm: r.Record | None) -> list[str]:
    value = ((vm or {}).get("tags") or {}).get(TAG_CUSTOMIZED) or ""
    return [h for h in value.split(",") if h]


def run_command_name(index: int, digest: str) -> str:
    return f"imagepipe-customize-{index}-{digest}"


class CustomizeHandler(Handler):
    def _wanted(self, step: Step, ctx: Context) -> tuple[SourceVM, list[str], int]:
        source: Any = ctx.document(step.document)
        hashes = [script_hash(s.script) for s in source.create.customize]
        return source, hashes, step.index or 0

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        source, hashes, i = self._wanted(step, ctx)
        first_line = (
            source.create.customize[i].script.strip().splitlines()[0][:60]
            if source.create.customize[i].script.strip()
            else ""
        )
        vm = obs.get(r.VM, source.resource_group, source.vm_name)
        rid = (
            ctx.resource_id(r.VM, source.resource_group, source.vm_name)
            + f"/runCommands/{run_command_name(i, hashes[i])}"
        )
        if vm is not None:
            if ran_hashes(vm)[: i + 1] == hashes[: i + 1]:
                return self.change(
                    step,
                    "no-op",
                    f"script {i + 1} ran (recorded in the tag {TAG_CUSTOMIZED})",
                    resource_id=rid,
                )
            if capture_flow.source_already_captured(ctx, source.ref, obs) or (
                (obs.vm(source.resource_group, source.vm_name) or {}).get("os_state") == "generalized"
            ):
                return self.change(
                    step,
                    "no-op",
                    f"{source.vm_name} is generalized: scripts never run again",
                    resource_id=rid,
                )
        return self.change(
            step, "action", f"run customize script {i + 1} on {source.vm_name}: {first_line}", resource_id=rid
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
        source, hashes, i = self._wanted(step, ctx)
        rg, vm_name = source.resource_group, source.vm_name
        vm = azure.get(r.VM, rg, vm_name)
        if vm is None:
            raise StepFailed(step.address, f"source VM {vm_name} not found")
        name = run_command_name(i, hashes[i])
        rc = azure.get_run_command(rg, vm_name, name)
        state = (rc or {}).get("properties", {}).get("execution_state")
        if rc is not None and state not in ("Running", "Pending", "Succeeded"):
            azure.delete_run_command(rg, vm_name, name).wait()
            rc = None
        if rc is None:
            azure.run_command(rg, vm_name, name, vm["location"], source.create.customize[i].script).wait()
        rc = capture_flow.wait_run_command(azure, rg, vm_name, name, step.address)
        capture_flow.verify_run_command(step.address, rc, f"customize script {i + 1}")
        tags = dict(vm["tags"])
        tags[TAG_CUSTOMIZED] = ",".join(hashes[: i + 1])
        azure.update_tags(r.VM, rg, vm_name, tags).wait()
