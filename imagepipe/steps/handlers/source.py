"""Customize scripts of a created source VM: each runs once, in order.

The VM's tag ``imagepipe-customized`` lists the hashes of the scripts that ran,
updated after each; the managed Run Command carries the script's hash in its
name, so a kill between the run and the tag update does not run it twice.
"""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec.model import SourceVM, VMCreate
from imagepipe.steps.base import Handler
from imagepipe.steps.context import TAG_CUSTOMIZED, Context
from imagepipe.steps.desired.names import script_hash
from imagepipe.steps.evaluation import Evaluation, StepFailed
from imagepipe.steps.facts import ran_hashes, scripts_outdated_on_generalized, source_already_captured
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import verify_run_command, wait_run_command


def run_command_name(index: int, digest: str) -> str:
    return f"imagepipe-customize-{index}-{digest}"


class CustomizeHandler(Handler):
    def _wanted(self, step: Step, ctx: Context) -> tuple[SourceVM, VMCreate, list[str], int]:
        source = ctx.source_vm(step.document)
        assert source.create is not None  # customize steps exist for created sources only
        hashes = [script_hash(s.script) for s in source.create.customize]
        return source, source.create, hashes, step.index or 0

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        source, create, hashes, i = self._wanted(step, ctx)
        first_line = (
            create.customize[i].script.strip().splitlines()[0][:60]
            if create.customize[i].script.strip()
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
            if scripts_outdated_on_generalized(source, obs):
                return self.change(
                    step,
                    "action",
                    f"run customize script {i + 1} on {source.vm_name} once it is rebuilt "
                    f"(it was generalized before the scripts changed): {first_line}",
                    resource_id=rid,
                )
            if source_already_captured(ctx, source.ref, obs) or (
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

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        source, create, hashes, i = self._wanted(step, ctx)
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
            azure.run_command(rg, vm_name, name, vm["location"], create.customize[i].script).wait()
        rc = wait_run_command(azure, rg, vm_name, name, step.address)
        verify_run_command(step.address, rc, f"customize script {i + 1}")
        tags = dict(vm["tags"])
        tags[TAG_CUSTOMIZED] = ",".join(hashes[: i + 1])
        azure.update_tags(r.VM, rg, vm_name, tags).wait()
