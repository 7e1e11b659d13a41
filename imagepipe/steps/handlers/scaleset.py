"""Deployment ``mode: scaleSet``: one virtual machine scale set with ``capacity: count``;
a count change is an update, another image one model write that Azure rolls out (a rolling
upgrade in batches, mapped from the Deployment's ``rollout``), followed until it ends; another
size or zones a replacement. Azure refuses a rolling upgrade without a health signal, so the
scale set is made with the Application Health extension (``rollout.healthProbe``), and a set
without a health probe or that extension gets it with its first rolling model write."""

from __future__ import annotations

from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec import security
from imagepipe.spec.model import Deployment
from imagepipe.steps.base import ResourceHandler
from imagepipe.steps.context import Context, desired_record
from imagepipe.steps.desired.names import capture_image_id, capture_os_type, security_properties, subnet_id_of
from imagepipe.steps.evaluation import Evaluation, compare_resource, tag_drift
from imagepipe.steps.port import Observer, Provider, ProviderError
from imagepipe.steps.waits import STOP_TIMEOUT_S, every, until, wait_for_replica

ROLLING_UPGRADE_TIMEOUT_S = STOP_TIMEOUT_S * 6  # a large scale set rolls for hours


class ScaleSetHandler(ResourceHandler):
    label = "scale set"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        dep = ctx.deployment(step.document)
        props = {
            "size": dep.size,
            "capacity": dep.count,
            "image": capture_image_id(ctx, dep.image),
            "zones": list(dep.zones),
            "subnet_id": subnet_id_of(ctx, dep.resource_group, dep.subnet, dep.subnet_id),
            "admin_username": dep.admin_username,
            "os_type": capture_os_type(ctx, dep.image),
            "ssh_public_key": dep.ssh_public_key,
            "admin_password": dep.admin_password,
            "rolling_policy": rolling_policy(dep),
            "health_extension": health_extension(dep, capture_os_type(ctx, dep.image)),
            **security_properties(
                security.deployment_type(ctx.specset.documents, dep), dep.security_type is not None
            ),
        }
        hashed = {
            "location": dep.location_name,
            **{
                k: v
                for k, v in props.items()
                if k
                not in ("capacity", "security_type", "security_profile", "rolling_policy", "health_extension")
            },
        }
        if props["security_profile"]:
            hashed["security_profile"] = props["security_profile"]
        desired = desired_record(
            r.VMSS,
            dep.resource_group,
            dep.name,
            dep.location_name,
            ctx.tags(step.address, hashed, dict(dep.tags)),
            props,
        )
        observed = obs.get(r.VMSS, dep.resource_group, dep.name)
        immutable: list[str] = []
        mutable: list[str] = []
        if observed is not None:
            seen = observed["properties"]
            rolls = (seen.get("image") or "").lower() != props["image"].lower()
            if rolls:
                policy = rolling_policy(dep)
                mutable.append(
                    f"image {short(seen.get('image'))} -> {short(props['image'])}: Azure's rolling upgrade, "
                    f"in batches of {policy['maxBatchInstancePercent']}% of the instances"
                )
            mutable += health_drift(seen, props["health_extension"], rolls)
            if sorted(seen.get("zones") or []) != sorted(props["zones"]):
                immutable.append("zones")
            if (seen.get("size") or "").lower() != dep.size.lower():
                immutable.append("size")
            if seen.get("capacity") != dep.count:
                mutable.append(f"capacity {seen.get('capacity')} -> {dep.count}")
            mutable += tag_drift(desired, observed)
        noun = f"{props['security_type']} {self.label}" if props["security_type"] else self.label
        ev = compare_resource(step, ctx, desired, observed, immutable, mutable, noun)
        if ev.change.action == "create" and not ev.extra.get("wait"):
            ev.change.reason += (
                f", with the Application Health extension ({describe(props['health_extension'])}): "
                "Azure's rolling upgrades judge instances by it"
            )
        return ev

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer
    ) -> r.Record:
        if "/galleries/" in desired["properties"]["image"].lower():
            image, region = desired["properties"]["image"], desired["location"]
            wait_for_replica(azure, image, region, ev.change.address, ctx.submitted)
        return desired

    def update(self, desired: r.Record, ev: Evaluation, azure: Provider) -> None:
        seen = (ev.observed or {}).get("properties") or {}
        props = desired["properties"]
        rolls = (seen.get("image") or "").lower() != props["image"].lower()
        write = {
            **props,
            "write_health_extension": bool(health_drift(seen, props["health_extension"], rolls)),
        }
        if not rolls:
            azure.update_vmss({**desired, "properties": write}).wait()
            return
        azure.update_vmss(
            {**desired, "properties": {**write, "rolling_upgrade": props["rolling_policy"]}}
        ).wait()
        follow_rolling_upgrade(azure, desired["resource_group"], desired["name"], ev.change.address)


def rolling_policy(dep: Deployment) -> dict[str, Any]:
    """Azure's rollingUpgradePolicy from the Deployment's rollout: a batch is maxUnavailable (as a
    percentage of the instances, 5 to 100), an unhealthy upgraded instance stops the upgrade."""
    batch = min(100, max(5, dep.rollout.wave_size(dep.count) * 100 // dep.count))
    return {
        "maxBatchInstancePercent": batch,
        "maxUnhealthyInstancePercent": batch,
        "maxUnhealthyUpgradedInstancePercent": 0,
        "pauseTimeBetweenBatches": f"PT{int(dep.rollout.pause_seconds)}S",
    }


def health_extension(dep: Deployment, os_type: str) -> dict[str, Any]:
    """The Application Health extension the scale set carries, from ``rollout.healthProbe``."""
    probe = dep.rollout.health_probe
    return {
        "type": f"ApplicationHealth{os_type}",
        "protocol": probe.protocol,
        "port": probe.port_for(os_type),
        "request_path": probe.request_path,
    }


def health_drift(seen: dict[str, Any], wanted: dict[str, Any], rolls: bool) -> list[str]:
    """What the model write must change of the scale set's health signal: an extension that probes
    something else; none at all when the write rolls (Azure refuses Rolling without a health probe
    or the extension; a set that never rolls is left as it is)."""
    current = seen.get("health_extension")
    if current is not None:
        return [] if current == wanted else [f"health extension {describe(current)} -> {describe(wanted)}"]
    if seen.get("health_probe") or not rolls:
        return []
    return [
        f"add the Application Health extension ({describe(wanted)}): Azure refuses a rolling upgrade "
        "without a health probe or this extension"
    ]


def describe(extension: dict[str, Any]) -> str:
    """An Application Health extension as a plan reads it: ``tcp port 22``, ``http port 80 /health``."""
    path = f" {extension['request_path']}" if extension.get("request_path") else ""
    return f"{extension['protocol']} port {extension['port']}{path}"


def follow_rolling_upgrade(azure: Provider, rg: str, name: str, address: str) -> None:
    """Until the upgrade the model write started ends; Faulted or Cancelled fail the step with Azure's
    code and message."""

    def ended() -> r.Record | None:
        status = azure.rolling_upgrade(rg, name)
        return status if status is not None and status["code"] not in ("RollingForward", None) else None

    status = until(
        ended,
        interval=every(azure),
        timeout=ROLLING_UPGRADE_TIMEOUT_S,
        address=address,
        timed_out=lambda: f"the rolling upgrade of scale set {name} did not end",
    )
    if status["code"] != "Completed":
        error = status["error"] or {"code": status["code"], "message": f"rolling upgrade {status['code']}"}
        raise ProviderError(
            f"{r.VMSS}/{name}", "rolling upgrade", error["code"], error["message"], None, retryable=False
        )


def short(image: str | None) -> str:
    """An image id as a plan reads it: the version or image name."""
    parts = (image or "none").rstrip("/").split("/")
    return "/".join(parts[-3:]) if "/versions/" in (image or "").lower() else parts[-1]
