"""Capture generalized in place: deprovision -> deallocate -> generalize -> image.

Every irreversible action is guarded by observed state: once the image exists with
the capture's hash nothing touches the source again; generalize runs only when the
instance view does not already say generalized and the deprovision run command is
verified; deallocate only when the VM is not deallocated.
"""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec.model import Capture, SourceVM
from imagepipe.steps.base import Handler, ResourceHandler
from imagepipe.steps.context import TAG_HASH, TAG_SPEC, Context
from imagepipe.steps.desired.capture import (
    DEPROVISION_RUN_COMMAND,
    VmToGeneralize,
    deprovision_script,
    image_desired,
    vm_to_generalize,
)
from imagepipe.steps.evaluation import Evaluation, StepFailed, compare_resource
from imagepipe.steps.facts import captured_output, deprovision_verified, image_done
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import verify_run_command, wait_run_command, wait_stopped


class CaptureStepHandler(Handler):
    """Shared observation of the VM a generalized capture works on."""

    def source(self, step: Step, ctx: Context) -> tuple[Capture, VmToGeneralize]:
        capture = ctx.capture(step.document)
        return capture, vm_to_generalize(ctx, capture)

    def done_reason(self, step: Step, ctx: Context, obs: Observer) -> str | None:
        capture, vm_ref = self.source(step, ctx)
        if image_done(ctx, capture, obs):
            return (
                f"{captured_output(capture)} exists with this capture's hash: the source is not touched again"
            )
        vm = obs.vm(vm_ref.resource_group, vm_ref.name)
        if vm is not None and vm.get("os_state") == "generalized":
            return f"VM {vm_ref.name} is already generalized"
        return None

    def guard_identity(
        self, step: Step, ctx: Context, vm: r.Record | None, vm_ref: VmToGeneralize
    ) -> r.Record:
        """Never act on a VM that is not the one the spec names."""
        if vm is None:
            raise StepFailed(step.address, f"VM {vm_ref.name} not found in {vm_ref.resource_group}")
        if vm_ref.owner and (not ctx.owns(vm) or vm["tags"].get(TAG_SPEC) != vm_ref.owner):
            raise StepFailed(
                step.address, f"VM {vm_ref.name} is not the VM this stack created for {vm_ref.owner}"
            )
        return vm


class DeprovisionHandler(CaptureStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture, source = self.source(step, ctx)
        done = self.done_reason(step, ctx, obs)
        if done:
            return self.change(step, "no-op", done)
        rc = obs.run_command(source.resource_group, source.name, DEPROVISION_RUN_COMMAND)
        rid = (
            ctx.resource_id(r.VM, source.resource_group, source.name)
            + f"/runCommands/{DEPROVISION_RUN_COMMAND}"
        )
        if deprovision_verified(rc):
            return self.change(step, "no-op", "deprovision ran and succeeded (Run Command)", resource_id=rid)
        tool = "sysprep /generalize" if source.os_type == "Windows" else "waagent -deprovision+user"
        state = (rc or {}).get("properties", {}).get("execution_state")
        if state in ("Running", "Pending"):
            reason = f"{tool} is running (Run Command): waits for it and verifies it"
        elif state:
            reason = f"{tool} ended {state} earlier: runs it again and verifies it"
        else:
            reason = f"run {tool} on {source.name} through Run Command and verify it"
        return self.change(step, "action", reason, resource_id=rid)

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        _, source = self.source(step, ctx)
        rg, vm_name = source.resource_group, source.name
        vm = self.guard_identity(step, ctx, azure.get(r.VM, rg, vm_name), source)
        rc = azure.get_run_command(rg, vm_name, DEPROVISION_RUN_COMMAND)
        state = (rc or {}).get("properties", {}).get("execution_state")
        if rc is not None and state not in ("Running", "Pending", "Succeeded"):
            azure.delete_run_command(rg, vm_name, DEPROVISION_RUN_COMMAND).wait()
            rc = None
        if rc is None:
            azure.run_command(
                rg, vm_name, DEPROVISION_RUN_COMMAND, vm["location"], deprovision_script(source.os_type)
            ).wait()
        rc = wait_run_command(azure, rg, vm_name, DEPROVISION_RUN_COMMAND, step.address)
        verify_run_command(step.address, rc, "deprovision")
        if source.os_type == "Windows":
            wait_stopped(azure, rg, vm_name, step.address)


class DeallocateHandler(CaptureStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        _, source = self.source(step, ctx)
        done = self.done_reason(step, ctx, obs)
        if done:
            return self.change(step, "no-op", done)
        vm = obs.vm(source.resource_group, source.name)
        if vm is not None and vm.get("power_state") == "deallocated":
            return self.change(step, "no-op", f"VM {source.name} is already deallocated", observed=vm)
        return self.change(
            step,
            "action",
            f"deallocate VM {source.name}",
            observed=vm,
            resource_id=ctx.resource_id(r.VM, source.resource_group, source.name),
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        _, source = self.source(step, ctx)
        self.guard_identity(step, ctx, azure.get(r.VM, source.resource_group, source.name), source)
        azure.deallocate(source.resource_group, source.name).wait()


class GeneralizeHandler(CaptureStepHandler):
    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        _, source = self.source(step, ctx)
        done = self.done_reason(step, ctx, obs)
        if done:
            return self.change(step, "no-op", done)
        return self.change(
            step,
            "action",
            f"generalize VM {source.name} (irreversible)",
            resource_id=ctx.resource_id(r.VM, source.resource_group, source.name),
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        _, source = self.source(step, ctx)
        rg, name = source.resource_group, source.name
        vm = self.guard_identity(step, ctx, azure.get(r.VM, rg, name), source)
        if vm.get("os_state") == "generalized":
            return
        if not deprovision_verified(azure.get_run_command(rg, name, DEPROVISION_RUN_COMMAND)):
            raise StepFailed(step.address, f"refusing to generalize {name}: its deprovision is not verified")
        if vm.get("power_state") not in ("deallocated", "stopped"):
            raise StepFailed(step.address, f"refusing to generalize {name}: it is {vm.get('power_state')}")
        azure.generalize(rg, name)


class ImageHandler(ResourceHandler):
    label = "image"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture = ctx.capture(step.document)
        desired = image_desired(ctx, capture)
        observed = obs.get(r.IMAGE, desired["resource_group"], desired["name"])
        if observed is not None and ctx.owns(observed, desired["tags"][TAG_SPEC]):
            if observed["tags"].get(TAG_HASH) != desired["tags"][TAG_HASH]:
                return self.change(
                    step,
                    "conflict",
                    f"image {desired['name']} exists from another source or settings, and images are "
                    f"immutable: give Capture {capture.name} a new image name",
                    desired,
                    observed,
                )
            if (observed.get("provisioning_state") or "").lower() == "succeeded":
                return self.change(
                    step,
                    "no-op",
                    f"image {desired['name']} exists with this capture's hash: adopted",
                    desired,
                    observed,
                )
        refused = self._trusted_launch_source(capture, ctx, obs)
        if refused and observed is None:
            return self.change(step, "conflict", refused, desired, None)
        return compare_resource(step, ctx, desired, observed, [], [], self.label)

    @staticmethod
    def _trusted_launch_source(capture: Capture, ctx: Context, obs: Observer) -> str | None:
        """An existing source is read at plan time: Azure refuses a managed image of a Trusted Launch VM."""
        source = ctx.source(capture.source)
        if not isinstance(source, SourceVM) or not source.existing:
            return None
        vm = obs.vm(source.resource_group, source.vm_name)
        kind = (vm or {}).get("properties", {}).get("security_type")
        if kind in (None, "Standard"):
            return None
        fix = f"declare securityType: {kind} on {source.ref}" + (
            " and add a gallery" if capture.gallery is None else ""
        )
        fix += " (the gallery version is then captured from the VM itself, without a managed image)"
        return (
            f"Capture {capture.name} makes a managed image of {source.ref}, which is a {kind} VM (observed); "
            f"managed images cannot hold {kind} VMs: {fix}"
        )

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer
    ) -> r.Record:
        if not desired["properties"].get("source_vm_id"):
            return desired  # an image from VHDs
        source_vm = obs.vm(
            r.resource_group_of(desired["properties"]["source_vm_id"]),
            desired["properties"]["source_vm_id"].rsplit("/", 1)[-1],
        )
        generation = (source_vm or {}).get("hyper_v_generation")
        if generation:
            return {**desired, "properties": {**desired["properties"], "hyper_v_generation": generation}}
        return desired
