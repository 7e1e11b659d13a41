"""Deployment ``mode: scaleSet``: one virtual machine scale set with ``capacity: count``;
a count or size change is an update, another image a replacement."""

from __future__ import annotations

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.spec import security
from imagepipe.steps.base import ResourceHandler
from imagepipe.steps.context import Context, desired_record
from imagepipe.steps.desired.names import capture_image_id, capture_os_type, security_properties, subnet_id_of
from imagepipe.steps.evaluation import Evaluation, compare_resource, tag_drift
from imagepipe.steps.port import Observer, Provider
from imagepipe.steps.waits import wait_for_replica


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
            **security_properties(
                security.deployment_type(ctx.specset.documents, dep), dep.security_type is not None
            ),
        }
        hashed = {
            "location": dep.location_name,
            **{k: v for k, v in props.items() if k not in ("capacity", "security_type", "security_profile")},
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
            if (seen.get("image") or "").lower() != props["image"].lower():
                immutable.append("image")
            if sorted(seen.get("zones") or []) != sorted(props["zones"]):
                immutable.append("zones")
            if (seen.get("size") or "").lower() != dep.size.lower():
                immutable.append("size")
            if seen.get("capacity") != dep.count:
                mutable.append(f"capacity {seen.get('capacity')} -> {dep.count}")
            mutable += tag_drift(desired, observed)
        noun = f"{props['security_type']} {self.label}" if props["security_type"] else self.label
        return compare_resource(step, ctx, desired, observed, immutable, mutable, noun)

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer
    ) -> r.Record:
        if "/galleries/" in desired["properties"]["image"].lower():
            image, region = desired["properties"]["image"], desired["location"]
            wait_for_replica(azure, image, region, ev.change.address, ctx.submitted)
        return desired

    def update(self, desired: r.Record, ev: Evaluation, azure: Provider) -> None:
        azure.update_vmss(desired).wait()
