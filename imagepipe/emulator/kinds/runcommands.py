"""Managed Run Commands (virtualMachines/runCommands): the guest model behind a sub-resource."""

from __future__ import annotations

import copy

from imagepipe.emulator import guest, ids, timing
from imagepipe.emulator.context import Ctx, public
from imagepipe.emulator.errors import ArmError, invalid
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.kinds.vm import VIRTUAL_MACHINES, guest_effects
from imagepipe.emulator.operations import iso
from imagepipe.emulator.replies import Answer
from imagepipe.emulator.types import RUN_COMMAND, VM


class VirtualMachineRunCommands(Kind):
    type_name = RUN_COMMAND
    group = "VirtualMachineRunCommands"
    delete_duration = timing.DISK_DELETE
    needs_location = False

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        vm_id = ids.parent_of(resource_id)
        vm = ctx.store.get(vm_id)
        if vm is None or vm["type"] != VM:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource '{ids.name_of(vm_id)}' not found.",
            )
        body = {**body, "location": body.get("location") or vm["location"]}
        return super().put(ctx, resource_id, body)

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        return self._run(ctx, doc, body, created=True)

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        self.check_immutable(doc, body)
        new = copy.deepcopy(doc)
        if "tags" in body:
            new["tags"] = dict(body.get("tags") or {})
        return self._run(ctx, new, body, created=False)

    def _run(self, ctx: Ctx, doc: dict, body: dict, *, created: bool) -> Answer:
        vm = ctx.store.get(ids.parent_of(doc["id"]))
        assert vm is not None
        props = copy.deepcopy(body.get("properties") or {})
        source = props.get("source") or {}
        if not (source.get("script") or source.get("scriptUri") or source.get("commandId")):
            raise invalid(
                "One of 'source.script', 'source.scriptUri' or 'source.commandId' must be set.", "source"
            )
        VIRTUAL_MACHINES.check_runnable(ctx, vm, "RunCommand")
        os_type = vm["_emu"].get("os_type", "Linux")
        run = guest.run(os_type, str(source.get("script") or ""))
        fail_deployment = bool(props.get("treatFailureAsDeploymentFailure"))
        props.setdefault("asyncExecution", False)
        props.setdefault("timeoutInSeconds", 0)
        props["treatFailureAsDeploymentFailure"] = fail_deployment
        props.pop("protectedParameters", None)  # secrets: Azure does not return them either
        doc["properties"] = props
        now = ctx.clock.now()
        doc["_emu"]["run"] = {
            "exit_code": run.exit_code,
            "stdout": run.stdout,
            "stderr": run.stderr,
            "start": now,
            "end": now + ctx.clock.span(timing.RUN_COMMAND),
        }
        error = run.extension_error(os_type) if run.failed and fail_deployment else None
        duration = 1.0 if props["asyncExecution"] else timing.RUN_COMMAND
        success = guest_effects(vm, run)
        response = self.start_provisioning(ctx, doc, duration, created=created, error=error, success=success)
        vm["_emu"]["op"] = doc["_emu"]["op"]
        ctx.store.put(vm)
        return response

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = public(doc)
        if "instanceview" not in ctx.query.get("$expand", "").lower():
            return out
        run = doc["_emu"].get("run") or {}
        if not run:
            return out
        done = ctx.clock.now() >= run["end"]
        failed = run["exit_code"] != 0
        state = "Running" if not done else ("Failed" if failed else "Succeeded")
        view = {
            "executionState": state,
            "executionMessage": ""
            if not done
            else (f"Execution failed with exit code {run['exit_code']}" if failed else "Execution completed"),
            "exitCode": run["exit_code"] if done else 0,
            "output": run["stdout"] if done else "",
            "error": run["stderr"] if done else "",
            "startTime": iso(run["start"]),
            "statuses": [],
        }
        if done:
            view["endTime"] = iso(run["end"])
        return {**out, "properties": {**out["properties"], "instanceView": view}}


register(VirtualMachineRunCommands())
