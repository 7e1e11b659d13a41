"""Scale set model changes and rolling upgrades, as Azure runs them.

Every scale set keeps a model version; each instance knows the version it runs
(`latestModelApplied`). A model change (a new image reference) in `upgradePolicy.mode`:
`Manual` leaves the instances as they are, `Automatic` moves them all at once, `Rolling`
starts a rolling upgrade when the model write ends: instances in order of their ids, in
batches of `maxBatchInstancePercent` of the set, each batch taking `INSTANCE_UPGRADE`
simulated seconds, `pauseTimeBetweenBatches` between batches. Before a batch starts, more
than `maxUnhealthyInstancePercent` of the set unhealthy faults the upgrade; after a batch, more
than `maxUnhealthyUpgradedInstancePercent` of the upgraded instances unhealthy faults it.

Like every operation here, the whole upgrade is decided when it starts (which instance fails,
when each batch runs, whether and where it faults) and read against the clock, so a test
advances the clock and never sleeps. An instance fails its upgrade when the new image cannot
provision it (e.g. captured without deprovisioning) or when a fault rule for the operation
`VirtualMachineScaleSetVMs_RollingUpgrade` with an `lro_error` picks it (one decision per
instance, in upgrade order). `cancel` stops before the next batch. Status:
`virtualMachineScaleSets/{name}/rollingUpgrades/latest`; start: `osRollingUpgrade`.
Swagger: ComputeRP `virtualMachineScaleSet.json` (VirtualMachineScaleSetRollingUpgrades_*).
"""

from __future__ import annotations

import copy
import dataclasses
import re

from imagepipe.emulator import ids, imagesource, timing
from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError, invalid, not_allowed
from imagepipe.emulator.kinds.base import Kind, register
from imagepipe.emulator.kinds.vmss import ScaleSetVMs, VirtualMachineScaleSets, instance_doc
from imagepipe.emulator.kinds.vmss_health import (
    check_extensions,
    extensions_of,
    instance_health,
    require_health_signal,
    stamp_extensions,
)
from imagepipe.emulator.operations import iso
from imagepipe.emulator.osprofile import same_reference
from imagepipe.emulator.replies import Answer, Started
from imagepipe.emulator.types import VMSS, VMSS_ROLLING_UPGRADE

INSTANCE_UPGRADE = timing.VM_CREATE  # reimaging one batch of instances
FAULT_OPERATION = "VirtualMachineScaleSetVMs_RollingUpgrade"  # fault rules pick failing instances by this
UPGRADE_MODES = ("Automatic", "Manual", "Rolling")
DEFAULT_ROLLING_POLICY = {
    "maxBatchInstancePercent": 20,
    "maxUnhealthyInstancePercent": 20,
    "maxUnhealthyUpgradedInstancePercent": 20,
    "pauseTimeBetweenBatches": "PT0S",
}
# (minimum, maximum) of each percentage, as in the swagger's RollingUpgradePolicy.
_PERCENT_RANGES = {
    "maxBatchInstancePercent": (5, 100),
    "maxUnhealthyInstancePercent": (5, 100),
    "maxUnhealthyUpgradedInstancePercent": (0, 100),
}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)


def parse_duration(text: str, target: str) -> float:
    """ISO 8601 duration (PnDTnHnMnS) in seconds; anything else is Azure's 400 InvalidParameter."""
    match = _DURATION.match(str(text or ""))
    if not match or str(text).upper() in ("P", "PT"):
        raise invalid(f"The value '{text}' of parameter '{target}' is not a valid ISO 8601 duration.", target)
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def normalize_upgrade_policy(policy: dict | None) -> dict:
    """The stored upgradePolicy: mode checked, a Rolling policy's settings checked and defaulted."""
    policy = copy.deepcopy(policy or {})
    mode = str(policy.get("mode") or "Manual")
    canonical = next((m for m in UPGRADE_MODES if m.lower() == mode.lower()), None)
    if canonical is None:
        raise invalid(
            f"The value '{mode}' of parameter 'upgradePolicy.mode' is invalid; allowed: {', '.join(UPGRADE_MODES)}.",
            "upgradePolicy.mode",
        )
    policy["mode"] = canonical
    if canonical == "Rolling" or policy.get("rollingUpgradePolicy"):
        rolling = {**DEFAULT_ROLLING_POLICY, **(policy.get("rollingUpgradePolicy") or {})}
        for name, (low, high) in _PERCENT_RANGES.items():
            value = rolling[name]
            target = f"upgradePolicy.rollingUpgradePolicy.{name}"
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise invalid(
                    f"The value '{value}' of parameter '{target}' must be an integer between {low} and {high}.",
                    target,
                )
        parse_duration(
            rolling["pauseTimeBetweenBatches"], "upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches"
        )
        policy["rollingUpgradePolicy"] = rolling
    return policy


# -- the state of instances at an instant -----------------------------------------------------


def rollout_of(vmss: dict) -> dict | None:
    return vmss["_emu"].get("rollout")


# What each instance runs and how its last upgrade went are kept beside `_emu.instances`
# (which the scale set's own operations rewrite when they settle), keyed by instance id.
def _models(vmss: dict) -> dict[str, int]:
    return vmss["_emu"].setdefault("instance_models", {})


def _health(vmss: dict) -> dict[str, str]:
    return vmss["_emu"].setdefault("instance_states", {})


def instance_now(vmss: dict, instance: dict, now: float) -> tuple[int, str]:
    """(model version, provisioning state) of an instance at `now`, with the rollout applied."""
    key = str(instance["id"])
    model = (vmss["_emu"].get("instance_models") or {}).get(key, 0)
    state = (vmss["_emu"].get("instance_states") or {}).get(key, instance["state"])
    rollout = rollout_of(vmss)
    if rollout is None:
        return model, state
    for batch in rollout["batches"]:
        if instance["id"] in batch["ids"]:
            if now >= batch["end"]:
                return rollout["target"], "Failed" if instance["id"] in batch["failed"] else "Succeeded"
            if now >= batch["start"]:
                return model, "Updating"
    return model, state


def _fold(vmss: dict, now: float) -> None:
    """Record a rollout's finished batches in the instance maps (before a new one is planned)."""
    rollout = rollout_of(vmss)
    for batch in rollout["batches"] if rollout else ():
        if now >= batch["end"]:
            for instance_id in batch["ids"]:
                _models(vmss)[str(instance_id)] = rollout["target"]
                _health(vmss)[str(instance_id)] = "Failed" if instance_id in batch["failed"] else "Succeeded"


def running(vmss: dict, now: float) -> bool:
    rollout = rollout_of(vmss)
    return rollout is not None and now < rollout["end"]


def _current_view(vmss: dict, now: float) -> dict:
    """A copy of the scale set whose instances carry their `model` and state as of `now`."""
    view = copy.deepcopy(vmss)
    for instance in view["_emu"]["instances"]:
        instance["model"], instance["state"] = instance_now(vmss, instance, now)
    return view


def _instance(vmss: dict, instance: dict, ctx: Ctx) -> dict:
    out = instance_doc(vmss, instance)
    current = vmss["_emu"].get("model", 0)
    model = instance["model"]
    reference = (vmss["_emu"].get("models") or {}).get(str(model))
    props = out["properties"]
    props["latestModelApplied"] = model == current
    props["modelDefinitionApplied"] = "VirtualMachineScaleSet"
    props["storageProfile"] = {
        "imageReference": reference
        or vmss["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    }
    if "instanceview" in ctx.query.get("$expand", "").lower():
        props["instanceView"] = instance_view(vmss["properties"]["virtualMachineProfile"], instance)
    return out


def instance_view(profile: dict, instance: dict) -> dict:
    """Provisioning and power state; with the Application Health extension, its health report too."""
    state = instance["state"]
    power = (
        "running" if state in ("Succeeded", "Updating") else "stopped" if state == "Failed" else "starting"
    )
    view: dict = {
        "statuses": [
            {"code": f"ProvisioningState/{state.lower()}", "level": "Error" if state == "Failed" else "Info"},
            {"code": f"PowerState/{power}", "level": "Info"},
        ],
    }
    health = instance_health(profile, state)
    if health is not None:
        view["vmHealth"], view["extensions"] = health
    return view


# -- planning a rollout -------------------------------------------------------------------------


def _plan(ctx: Ctx, vmss: dict, target: int, start: float, last_action_time: float) -> dict:
    """Decide the whole rolling upgrade to model `target` from `start` (timeline seconds)."""
    policy = normalize_upgrade_policy(vmss["properties"].get("upgradePolicy"))
    rolling = {**DEFAULT_ROLLING_POLICY, **(policy.get("rollingUpgradePolicy") or {})}
    instances = sorted(_current_view(vmss, start)["_emu"]["instances"], key=lambda i: i["id"])
    total = len(instances)
    pending = [i["id"] for i in instances if i["model"] != target]
    unhealthy = {i["id"] for i in instances if i["state"] == "Failed"}
    size = max(1, total * rolling["maxBatchInstancePercent"] // 100)
    pause = ctx.clock.span(
        parse_duration(rolling["pauseTimeBetweenBatches"], "rollingUpgradePolicy.pauseTimeBetweenBatches")
    )
    image_failure = _image_failure(ctx, vmss, target)
    batches: list[dict] = []
    upgraded = failed = 0
    outcome, error, t = "Completed", None, start
    for first in range(0, len(pending), size):
        if unhealthy and len(unhealthy) * 100 > rolling["maxUnhealthyInstancePercent"] * total:
            outcome, error = "Faulted", _unhealthy_error(len(unhealthy) * 100 // total, rolling)
            break
        chunk = pending[first : first + size]
        fails = [i for i in chunk if image_failure or _fault_picks(ctx)]
        duration = timing.OS_PROVISIONING_TIMEOUT if image_failure else INSTANCE_UPGRADE
        batches.append({"ids": chunk, "failed": fails, "start": t, "end": t + ctx.clock.span(duration)})
        t = batches[-1]["end"]
        upgraded += len(chunk)
        failed += len(fails)
        unhealthy = (unhealthy - set(chunk)) | set(fails)
        if failed * 100 > rolling["maxUnhealthyUpgradedInstancePercent"] * upgraded:
            code = (image_failure or {}).get("code") or "VMHealthCheckFailed"
            outcome, error = "Faulted", _upgraded_error(failed * 100 // upgraded, rolling, code, fails[0])
            break
        if first + size < len(pending):
            t += pause
    return {
        "target": target,
        "policy": rolling,
        "instances": pending,
        "batches": batches,
        "start": start,
        "end": t,
        "outcome": outcome,
        "error": error,
        "last_action": "Start",
        "last_action_time": last_action_time,
    }


def _fault_picks(ctx: Ctx) -> bool:
    return bool(ctx.faults is not None and ctx.faults.decide(FAULT_OPERATION).lro_error)


def _image_failure(ctx: Ctx, vmss: dict, target: int) -> dict | None:
    """Why instances cannot boot the target model's image (Azure's provisioning errors), if they cannot."""
    reference = (vmss["_emu"].get("models") or {}).get(str(target))
    if not reference:
        return None
    try:
        source = imagesource.resolve(ctx, reference, vmss["location"], vmss["id"])
    except ArmError as error:
        return {"code": error.code, "message": error.message}
    if source.failure:
        return source.failure
    if source.os_state == "Generalized" and not source.deprovisioned:
        return {
            "code": "OSProvisioningTimedOut",
            "message": "OS Provisioning did not finish in the allotted time: the image was not deprovisioned.",
        }
    return None


def _upgraded_error(percent: int, rolling: dict, code: str, first_failed: int) -> dict:
    return {
        "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
        "message": "Rolling Upgrade failed after exceeding the MaxUnhealthyUpgradedInstancePercent value defined in "
        f"the RollingUpgradePolicy. {percent}% of instances are in an unhealthy state after being upgraded - more "
        f"than the threshold of {rolling['maxUnhealthyUpgradedInstancePercent']}%. The most impactful error is: "
        f"{code}. First failed instance ID is: {first_failed}.",
    }


def _unhealthy_error(percent: int, rolling: dict) -> dict:
    return {
        "code": "MaxUnhealthyInstancePercentExceededInRollingUpgrade",
        "message": "Rolling Upgrade failed after exceeding the MaxUnhealthyInstancePercent value defined in the "
        f"RollingUpgradePolicy. {percent}% of instances are in an unhealthy state - more than the threshold of "
        f"{rolling['maxUnhealthyInstancePercent']}%. To apply upgrades, consider increasing the "
        "MaxUnhealthyInstancePercent value.",
    }


def status_of(vmss: dict, now: float) -> dict:
    """The RollingUpgradeStatusInfo of the latest rolling upgrade at `now`."""
    rollout = rollout_of(vmss)
    if rollout is None:
        raise ArmError(
            404, "NotFound", f"No rolling upgrade has been run on virtual machine scale set '{vmss['name']}'."
        )
    done = [b for b in rollout["batches"] if now >= b["end"]]
    moving = [b for b in rollout["batches"] if b["start"] <= now < b["end"]]
    successful = sum(len(b["ids"]) - len(b["failed"]) for b in done)
    failed = sum(len(b["failed"]) for b in done)
    in_progress = sum(len(b["ids"]) for b in moving)
    cancelled = rollout.get("cancel_time") is not None and now >= rollout["cancel_time"]
    if cancelled:
        code = "Cancelled"
    elif now < rollout["end"]:
        code = "RollingForward"
    else:
        code = rollout["outcome"]
    properties: dict = {
        "policy": rollout["policy"],
        "runningStatus": {
            "code": code,
            "startTime": iso(rollout["start"]),
            "lastAction": rollout["last_action"],
            "lastActionTime": iso(rollout["last_action_time"]),
        },
        "progress": {
            "successfulInstanceCount": successful,
            "failedInstanceCount": failed,
            "inProgressInstanceCount": in_progress,
            "pendingInstanceCount": len(rollout["instances"]) - successful - failed - in_progress,
        },
    }
    if code == "Faulted" and rollout["error"]:
        properties["error"] = rollout["error"]
    return {
        "id": f"{vmss['id']}/rollingUpgrades/latest",
        "name": "latest",
        "type": VMSS_ROLLING_UPGRADE,
        "location": vmss["location"],
        "properties": properties,
    }


# -- the kinds ------------------------------------------------------------------------------------


class RollingScaleSets(VirtualMachineScaleSets):
    """Scale sets with model versions, upgrade modes and rolling upgrades."""

    def __init__(self) -> None:
        super().__init__()
        self.actions = {**self.actions, "osrollingupgrade": self.start_os_upgrade}

    def create(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        body = copy.deepcopy(body)
        props = body.setdefault("properties", {})
        props["upgradePolicy"] = normalize_upgrade_policy(props.get("upgradePolicy"))
        profile = props.get("virtualMachineProfile") or {}
        _writable_extensions(profile)
        require_health_signal(props["upgradePolicy"]["mode"], profile)
        answer = super().create(ctx, doc, body)
        stored = ctx.store.get(doc["id"])
        if stored is not None:
            reference = stored["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
            stored["_emu"].update(model=0, models={"0": reference})
            stored["_emu"]["instance_models"] = {str(i["id"]): 0 for i in stored["_emu"]["instances"]}
            ctx.store.put(stored)
        return answer

    def update(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        now = ctx.clock.now()
        body_props = body.get("properties") or {}
        policy = (
            normalize_upgrade_policy(body_props["upgradePolicy"])
            if body_props.get("upgradePolicy") is not None
            else doc["properties"].get("upgradePolicy") or {"mode": "Manual"}
        )
        before = doc["properties"]["virtualMachineProfile"]["storageProfile"].get("imageReference") or {}
        reference = (
            (body_props.get("virtualMachineProfile") or {}).get("storageProfile", {}).get("imageReference")
        )
        changes_model = bool(reference) and not same_reference(reference, before)
        health = _health_settings(doc, body_props.get("virtualMachineProfile") or {})
        require_health_signal(policy["mode"], health)
        if changes_model and running(doc, now):
            raise not_allowed(
                f"The model of virtual machine scale set '{doc['name']}' cannot change while a rolling upgrade is in "
                "progress. Cancel the rolling upgrade or wait for it to finish."
            )
        current = doc["_emu"].get("model", 0)
        for instance in doc["_emu"]["instances"]:
            _models(doc).setdefault(str(instance["id"]), current)
        answer = super().update(ctx, doc, body)
        new = ctx.store.get(doc["id"])
        assert new is not None
        new["properties"]["upgradePolicy"] = policy
        _keep_health_settings(new["properties"]["virtualMachineProfile"], health)
        models = new["_emu"].setdefault("models", {"0": before})
        after = new["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
        if changes_model:
            current += 1
            models[str(current)] = after
            new["_emu"]["model"] = current
        for instance in new["_emu"]["instances"]:
            _models(new).setdefault(str(instance["id"]), current)  # made by this write: on its model
        if changes_model:
            self._apply_model(ctx, new, current, policy, answer, now)
        ctx.store.put(new)
        if isinstance(answer, Started):
            return dataclasses.replace(answer, body=self.render(ctx, new))
        return answer

    def _apply_model(
        self, ctx: Ctx, vmss: dict, target: int, policy: dict, answer: Answer, now: float
    ) -> None:
        if policy["mode"] == "Automatic":
            _fold(vmss, now)
            for instance in vmss["_emu"]["instances"]:
                _models(vmss)[str(instance["id"])] = target
        elif policy["mode"] == "Rolling":
            _fold(vmss, now)
            begin = answer.op["end"] if isinstance(answer, Started) else now
            vmss["_emu"]["rollout"] = _plan(ctx, vmss, target, begin, now)

    def start_os_upgrade(self, ctx: Ctx, doc: dict, body: dict) -> Answer:
        """Upgrade every instance not on the latest model, in batches (VirtualMachineScaleSetRollingUpgrades_StartOSUpgrade)."""
        now = ctx.clock.now()
        if running(doc, now):
            raise not_allowed(
                f"A rolling upgrade is already in progress on virtual machine scale set '{doc['name']}'."
            )
        _fold(doc, now)
        rollout = _plan(ctx, doc, doc["_emu"].get("model", 0), now, now)
        doc["_emu"]["rollout"] = rollout
        error = ctx.injected_error or rollout["error"]
        op = ctx.ops.start(
            "VirtualMachineScaleSetRollingUpgrades_StartOSUpgrade",
            doc["id"],
            max(1.0, (rollout["end"] - now) * ctx.clock.speed),
            error=error,
            location=doc["location"],
        )
        rollout["op"] = op["id"]
        ctx.store.put(doc)
        return Started(op, 202, location=True)

    def render(self, ctx: Ctx, doc: dict) -> dict:
        out = super().render(ctx, doc)
        if extensions_of(out["properties"].get("virtualMachineProfile") or {}):
            out = {**out, "properties": copy.deepcopy(out["properties"])}
            state = out["properties"].get("provisioningState") or "Succeeded"
            stamp_extensions(out["properties"]["virtualMachineProfile"], state)
        return out

    def sub_get(self, ctx: Ctx, doc: dict, segment: str) -> dict:
        view = _current_view(doc, ctx.clock.now())
        if segment.lower() == "virtualmachines":
            return {"value": [_instance(view, i, ctx) for i in view["_emu"]["instances"]]}
        return super().sub_get(ctx, view, segment)


class RollingScaleSetVMs(ScaleSetVMs):
    """Instances as of now: the model they run, whether it is the latest, their state."""

    def _find(self, ctx: Ctx, resource_id: str) -> tuple[dict, dict]:
        vmss = ctx.store.get(ids.parent_of(resource_id))
        name = ids.name_of(resource_id)
        if vmss is not None and vmss["type"].lower() == VMSS.lower():
            view = _current_view(vmss, ctx.clock.now())
            for instance in view["_emu"]["instances"]:
                if str(instance["id"]) == name:
                    return view, instance
        raise ArmError(404, "NotFound", f"The entity was not found in this Azure location: {resource_id}.")

    def get(self, ctx: Ctx, resource_id: str) -> dict:
        view, instance = self._find(ctx, resource_id)
        return _instance(view, instance, ctx)

    def require(self, ctx: Ctx, resource_id: str) -> dict:
        view, instance = self._find(ctx, resource_id)
        profile = view["properties"]["virtualMachineProfile"]
        return {**_instance(view, instance, ctx), "_emu": {"instance": instance, "profile": profile}}

    def sub_get(self, ctx: Ctx, doc: dict, segment: str) -> dict:
        if segment.lower() == "instanceview":
            return instance_view(doc["_emu"]["profile"], doc["_emu"]["instance"])
        return super().sub_get(ctx, doc, segment)

    def list_under(self, ctx: Ctx, parent: dict) -> list[dict]:
        view = _current_view(parent, ctx.clock.now())
        return [_instance(view, i, ctx) for i in view["_emu"]["instances"]]


def _writable_extensions(profile: dict) -> None:
    """Check a written extension profile and drop what only Azure writes (each provisioningState)."""
    check_extensions(profile)
    for extension in extensions_of(profile):
        (extension.get("properties") or {}).pop("provisioningState", None)


def _health_settings(doc: dict, written: dict) -> dict:
    """The extension profile and health probe the scale set has after a write: what the write
    sends replaces what is stored (a PATCH's body holds the stored model where it leaves them out)."""
    stored = doc["properties"]["virtualMachineProfile"]
    out = {
        "extensionProfile": copy.deepcopy(stored.get("extensionProfile")),
        "networkProfile": {"healthProbe": (stored.get("networkProfile") or {}).get("healthProbe")},
    }
    if "extensionProfile" in written:
        out["extensionProfile"] = copy.deepcopy(written["extensionProfile"])
        _writable_extensions(out)
    if "healthProbe" in (written.get("networkProfile") or {}):
        out["networkProfile"]["healthProbe"] = copy.deepcopy(written["networkProfile"]["healthProbe"])
    return out


def _keep_health_settings(profile: dict, health: dict) -> None:
    """Store the scale set's extension profile and health probe as `_health_settings` decided them."""
    if health["extensionProfile"] is None:
        profile.pop("extensionProfile", None)
    else:
        profile["extensionProfile"] = health["extensionProfile"]
    probe = health["networkProfile"]["healthProbe"]
    network = profile.setdefault("networkProfile", {})
    if probe is None:
        network.pop("healthProbe", None)
    else:
        network["healthProbe"] = probe


class RollingUpgrades(Kind):
    """`rollingUpgrades/latest` (GET) and `rollingUpgrades/cancel` (POST) of a scale set."""

    type_name = VMSS_ROLLING_UPGRADE
    group = "VirtualMachineScaleSetRollingUpgrades"

    def _scale_set(self, ctx: Ctx, resource_id: str) -> dict:
        vmss = ctx.store.get(ids.parent_of(resource_id))
        if vmss is None or vmss["type"].lower() != VMSS.lower():
            raise ArmError(404, "ResourceNotFound", f"The scale set of '{resource_id}' was not found.")
        return vmss

    def get(self, ctx: Ctx, resource_id: str) -> dict:
        if ids.name_of(resource_id).lower() != "latest":
            raise ArmError(
                404, "NotFound", f"'{ids.name_of(resource_id)}' is not a rolling upgrade; ask for 'latest'."
            )
        return status_of(self._scale_set(ctx, resource_id), ctx.clock.now())

    def post(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        if ids.name_of(resource_id).lower() != "cancel":
            raise ArmError(404, "NotFound", f"No action '{ids.name_of(resource_id)}' on rolling upgrades.")
        vmss = self._scale_set(ctx, resource_id)
        now = ctx.clock.now()
        if not running(vmss, now):
            raise not_allowed(
                f"There is no rolling upgrade in progress on virtual machine scale set '{vmss['name']}'."
            )
        rollout = vmss["_emu"]["rollout"]
        kept = [b for b in rollout["batches"] if b["start"] <= now]  # the batch under way finishes
        rollout["batches"] = kept
        rollout["end"] = max([now, *(b["end"] for b in kept)])
        rollout.update(
            outcome="Cancelled", error=None, cancel_time=now, last_action="Cancel", last_action_time=now
        )
        started = ctx.store.operations.get(rollout.get("op") or "")
        if started is not None and ctx.ops.status(started) == "InProgress":
            started.update(
                end=rollout["end"],
                outcome="Canceled",
                error={"code": "RollingUpgradeCancelled", "message": "The rolling upgrade was cancelled."},
                effects=[],
            )
            ctx.store.put_operation(started)
        ctx.store.put(vmss)
        op = ctx.ops.start(
            "VirtualMachineScaleSetRollingUpgrades_Cancel",
            vmss["id"],
            max(1.0, (rollout["end"] - now) * ctx.clock.speed),
            error=ctx.injected_error,
            location=vmss["location"],
        )
        return Started(op, 202, location=True)

    def put(self, ctx: Ctx, resource_id: str, body: dict) -> Answer:
        raise ArmError(
            405, "MethodNotAllowed", "Rolling upgrades are started with osRollingUpgrade or a model change."
        )

    def delete(self, ctx: Ctx, resource_id: str) -> Answer:
        return self.put(ctx, resource_id, {})


register(RollingScaleSets())
register(RollingScaleSetVMs())
register(RollingUpgrades())
