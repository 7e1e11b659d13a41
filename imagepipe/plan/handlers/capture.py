"""Capture generalized in place: deprovision -> deallocate -> generalize -> image.

Every irreversible action is guarded by observed state: once the image exists with
the capture's hash nothing touches the source again; generalize runs only when the
instance view does not already say generalized and the deprovision run command is
verified; deallocate only when the VM is not deallocated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.graph.step import Step
from imagepipe.plan.context import TAG_HASH, TAG_SPEC, Context, desired_record
from imagepipe.plan.handlers import naming
from imagepipe.plan.handlers.base import Evaluation, Handler, StepFailed, compare_resource
from imagepipe.plan.handlers.resources import ResourceHandler
from imagepipe.plan.observe import Observer
from imagepipe.spec.model import Capture

DEPROVISION_RUN_COMMAND = "imagepipe-deprovision"
LINUX_DEPROVISION = "waagent -deprovision+user -force"
WINDOWS_DEPROVISION = r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet /mode:vm"
STOP_TIMEOUT_S = 3600.0


def deprovision_script(os_type: str) -> str:
    return WINDOWS_DEPROVISION if os_type == "Windows" else LINUX_DEPROVISION


@dataclass(frozen=True)
class VmToGeneralize:
    resource_group: str
    name: str
    os_type: str
    owner: str | None  # the imagepipe-spec tag it must carry; None for an existing source


def vm_to_generalize(ctx: Context, capture: Capture) -> VmToGeneralize:
    """The source itself (preserveSource: false), or the temporary VM built from its snapshots."""
    source: Any = ctx.document(capture.source)
    if capture.preserve_source and capture.snapshots is not None:
        return VmToGeneralize(
            capture.snapshots.resource_group, f"{capture.name}-tmp", source.os_type, f"{capture.ref}/temp-vm"
        )
    return VmToGeneralize(
        source.resource_group, source.vm_name, source.os_type, None if source.existing else f"{source.ref}/vm"
    )


def image_desired(ctx: Context, capture: Capture, obs: Observer | None = None) -> r.Record:
    source: Any = ctx.document(capture.source)
    image = capture.image
    assert image is not None
    hashed = naming.capture_hashed(ctx, capture)
    if source.kind == "SourceVHD":
        props: dict[str, Any] = {
            "os_uri": source.os_disk_uri,
            "data_uris": list(source.data_disk_uris),
            "os_type": source.os_type,
            "os_state": source.os_state,
        }
    else:
        vm = vm_to_generalize(ctx, capture)
        props = {"source_vm_id": ctx.resource_id(r.VM, vm.resource_group, vm.name)}
    address = f"{capture.ref}/image"
    return desired_record(
        r.IMAGE,
        image.resource_group,
        image.name,
        source.location_name,
        ctx.tags(address, {"location": source.location_name, **hashed}),
        props,
    )


def image_done(ctx: Context, capture: Capture, obs: Observer) -> bool:
    """The capture's image exists, is ours and was made from what the spec says now."""
    desired = image_desired(ctx, capture)
    observed = obs.get(r.IMAGE, desired["resource_group"], desired["name"])
    return (
        observed is not None
        and ctx.owns(observed)
        and observed["tags"].get(TAG_HASH) == desired["tags"][TAG_HASH]
        and (observed.get("provisioning_state") or "").lower() != "failed"
    )


def source_already_captured(ctx: Context, source_ref: str, obs: Observer) -> bool:
    return any(
        image_done(ctx, c, obs)
        for c in ctx.specset.of_kind("Capture")
        if isinstance(c, Capture) and c.source == source_ref and c.type == "generalized" and c.image
    )


def deprovision_verified(run_command: r.Record | None) -> bool:
    if run_command is None:
        return False
    props = run_command["properties"]
    return props.get("execution_state") == "Succeeded" and props.get("exit_code") in (0, None)


class CaptureStepHandler(Handler):
    """Shared observation of the VM a generalized capture works on."""

    def source(self, step: Step, ctx: Context) -> tuple[Capture, VmToGeneralize]:
        capture: Any = ctx.document(step.document)
        return capture, vm_to_generalize(ctx, capture)

    def done_reason(self, step: Step, ctx: Context, obs: Observer) -> str | None:
        capture, vm_ref = self.source(step, ctx)
        if image_done(ctx, capture, obs):
            return (
                f"image {capture.image.name} exists with this capture's hash: the source is not touched again"
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

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
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


def wait_run_command(azure: Azure, rg: str, vm: str, name: str, address: str) -> r.Record:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while True:
        rc = azure.get_run_command(rg, vm, name)
        if rc is None:
            raise StepFailed(address, f"run command {name} on {vm} vanished")
        if rc["properties"].get("execution_state") not in ("Running", "Pending", None):
            return rc
        if time.monotonic() > deadline:
            raise StepFailed(address, f"run command {name} on {vm} did not finish")
        time.sleep(max(azure.target.polling_interval, 0.05))


def verify_run_command(address: str, rc: r.Record, what: str) -> None:
    props = rc["properties"]
    if props.get("execution_state") != "Succeeded" or props.get("exit_code") not in (0, None):
        detail = (props.get("error") or props.get("output") or "").strip().splitlines()
        tail = detail[-1] if detail else "no output"
        raise StepFailed(
            address,
            f"{what} failed in the guest (state {props.get('execution_state')}, exit code {props.get('exit_code')}): {tail}",
        )


def wait_stopped(azure: Azure, rg: str, vm: str, address: str) -> None:
    """sysprep /shutdown stops the VM when it is done: that is its verification."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while True:
        rec = azure.get(r.VM, rg, vm)
        if rec is not None and rec.get("power_state") in ("stopped", "deallocated"):
            return
        if time.monotonic() > deadline:
            raise StepFailed(address, f"VM {vm} did not stop after sysprep")
        time.sleep(max(azure.target.polling_interval, 0.05))


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

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
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

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer) -> None:
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
    kind = "image"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        capture: Any = ctx.document(step.document)
        desired = image_desired(ctx, capture)
        observed = obs.get(r.IMAGE, desired["resource_group"], desired["name"])
        if observed is not None and ctx.owns(observed):
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
        return compare_resource(step, ctx, desired, observed, [], [], self.kind)

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Azure, obs: Observer
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
