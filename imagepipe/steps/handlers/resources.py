"""Handlers of plain resources: resource groups, virtual networks, NICs, VMs."""

from __future__ import annotations

from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph.step import Step
from imagepipe.steps.base import Handler, ResourceHandler
from imagepipe.steps.context import TAG_CUSTOMIZED, TAG_HEALTH, TAG_SPEC, UNHEALTHY, Context, desired_record
from imagepipe.steps.desired.disks import restored_from_other_snapshots
from imagepipe.steps.desired.names import nic_target
from imagepipe.steps.desired.vm import vm_desired, with_image_disks
from imagepipe.steps.evaluation import Evaluation, StepFailed, compare_resource, same_id, tag_drift
from imagepipe.steps.facts import scripts_outdated_on_generalized, source_already_captured
from imagepipe.steps.port import Observer, Pending, Provider, ProviderError
from imagepipe.steps.waits import delete_vm, wait_for_replica


class ResourceGroupHandler(ResourceHandler):
    label = "resource group"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        name, location = step.params["name"], step.params["location"]
        desired = desired_record(
            r.RESOURCE_GROUP, name, name, location, ctx.tags(step.address, {"location": location}), {}
        )
        observed = obs.get(r.RESOURCE_GROUP, name, name)
        if observed is not None and not ctx.owns(observed, step.address):
            # Groups are often shared or made by hand: use them, never change or delete them.
            desired["id"] = observed["id"]
            return self.change(
                step,
                "no-op",
                f"resource group {name} exists and is not owned by this stack: used as is",
                None,
                observed,
            )
        return compare_resource(
            step, ctx, desired, observed, [], tag_drift(desired, observed or desired), self.label
        )

    def update(self, desired: r.Record, ev: Evaluation, azure: Provider) -> None:
        azure.update_tags(r.RESOURCE_GROUP, desired["name"], desired["name"], desired["tags"]).wait()

    def delete(self, azure: Provider, record: r.Record) -> None:
        raise StepFailed(record["name"], "a resource group is never replaced")


class VirtualNetworkHandler(ResourceHandler):
    label = "virtual network"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        p = step.params
        subnets = {name: prefix for name, prefix in sorted(dict(p["subnets"]).items())}
        props = {"address_prefixes": sorted(set(subnets.values())), "subnets": subnets}
        desired = desired_record(
            r.VNET,
            p["resource_group"],
            p["name"],
            p["location"],
            ctx.tags(step.address, {"location": p["location"], **props}),
            props,
        )
        observed = obs.get(r.VNET, p["resource_group"], p["name"])
        mutable: list[str] = []
        if observed is not None:
            seen = observed["properties"]["subnets"]
            missing = [n for n, prefix in subnets.items() if seen.get(n) != prefix]
            if missing:
                mutable.append(f"subnets {', '.join(missing)} missing or different")
            mutable += tag_drift(desired, observed)
        return compare_resource(step, ctx, desired, observed, [], mutable, self.label)

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer
    ) -> r.Record:
        return self._merged(desired, ev.observed)

    def update(self, desired: r.Record, ev: Evaluation, azure: Provider) -> None:
        azure.create(self._merged(desired, ev.observed)).wait()

    @staticmethod
    def _merged(desired: r.Record, observed: r.Record | None) -> r.Record:
        # A PUT of a vnet deletes the subnets it omits: keep the ones added out of band.
        if not observed:
            return desired
        props = dict(desired["properties"])
        subnets = {**observed["properties"]["subnets"], **props["subnets"]}
        prefixes = sorted(set(props["address_prefixes"]) | set(observed["properties"]["address_prefixes"]))
        return {**desired, "properties": {"subnets": subnets, "address_prefixes": prefixes}}


class NicHandler(ResourceHandler):
    label = "network interface"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        rg, name, location, subnet_id, extra_tags = self.target(step, ctx)
        props = {"subnet_id": subnet_id}
        desired = desired_record(
            r.NIC,
            rg,
            name,
            location,
            ctx.tags(step.address, {"location": location, **props}, extra_tags),
            props,
        )
        observed = obs.get(r.NIC, rg, name)
        mutable: list[str] = []
        if observed is not None:
            if not same_id(observed["properties"]["subnet_id"], subnet_id):
                mutable.append("subnet changed")
            mutable += tag_drift(desired, observed)
        return compare_resource(step, ctx, desired, observed, [], mutable, self.label)

    def target(self, step: Step, ctx: Context) -> tuple[str, str, str, str, dict[str, str]]:
        return nic_target(step, ctx)

    def delete(self, azure: Provider, record: r.Record) -> None:
        azure.delete(r.NIC, record["resource_group"], record["name"]).wait()


# A VM whose rollout health check failed: its update drops the tag, and the rollout's gate
# checks it again in the first wave, before any other VM goes down.
HEALTH_RECHECK = "its health check failed in an earlier apply: checked again first"


class VmHandler(ResourceHandler):
    """A VM imagepipe creates: a source VM (``create:``) or a deployment instance."""

    label = "VM"

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        desired, hashed = vm_desired(step, ctx, obs)
        observed = obs.get(r.VM, desired["resource_group"], desired["name"])
        if observed is not None and (observed.get("provisioning_state") or "").lower() == "failed":
            observed = obs.vm(desired["resource_group"], desired["name"]) or observed  # for its error
        immutable: list[str] = []
        mutable: list[str] = []
        if observed is not None:
            seen, want = observed["properties"], desired["properties"]
            if (seen.get("image") or "").lower() != want["image"].lower():
                immutable.append("image")
            if sorted(seen.get("zones") or []) != sorted(want.get("zones") or []):
                immutable.append("zone")
            if seen.get("admin_username") and seen["admin_username"] != want["admin_username"]:
                immutable.append("admin username")
            if [n.lower() for n in seen.get("nic_ids") or []] != [n.lower() for n in want["nic_ids"]]:
                immutable.append("network interface")
            elif self._subnet_moved(seen, want):
                immutable.append("subnet")
            if observed["location"] != desired["location"]:
                immutable.append("location")
            if step.kind is r.StepKind.DEPLOYMENT_VM and restored_from_other_snapshots(
                ctx, ctx.deployment(step.document), step.index or 0, obs
            ):
                immutable.append("disks (made again from other snapshots)")
            if step.kind is r.StepKind.SOURCE_VM and scripts_outdated_on_generalized(
                ctx.source_vm(step.document), obs
            ):
                # Never dropped: the scripts run on a rebuilt VM, which its capture then takes.
                immutable.append("customize scripts (changed since the VM was generalized in place)")
            if (seen.get("size") or "").lower() != want["size"].lower():
                mutable.append(f"size {seen.get('size')} -> {want['size']}")
            if observed["tags"].get(TAG_HEALTH) == UNHEALTHY:
                mutable.append(HEALTH_RECHECK)
            mutable += tag_drift(desired, observed)
        elif desired["properties"].get("nic"):
            foreign = self._foreign_nic(desired, ctx, obs)
            if foreign:
                vm_id = ctx.resource_id(r.VM, desired["resource_group"], desired["name"])
                return self.change(step, "conflict", foreign, desired, None, resource_id=vm_id)
        kind = desired["properties"].get("security_type")
        noun = f"{kind} {self.label}" if kind else self.label  # the plan shows each VM's security type
        return compare_resource(step, ctx, desired, observed, immutable, mutable, noun)

    @staticmethod
    def _subnet_moved(seen: dict[str, Any], want: dict[str, Any]) -> bool:
        """The subnet of the NIC the VM created itself (networkInterfaceConfigurations) changed."""
        subnets = seen.get("nic_subnet_ids") or []
        return bool(want.get("nic") and subnets and not same_id(subnets[0], want["nic"]["subnet_id"]))

    @staticmethod
    def _foreign_nic(desired: r.Record, ctx: Context, obs: Observer) -> str | None:
        """Why the NIC a new VM would create is taken (Azure would reuse an unattached one)."""
        name = desired["properties"]["nic"]["name"]
        nic = obs.planned(r.NIC, desired["resource_group"], name)
        # Ours: the NIC step (Deployment/x/nic[i]) of an earlier version made it for this VM.
        if nic is None or ctx.owns(nic, desired["tags"][TAG_SPEC].replace("/vm[", "/nic[", 1)):
            return None
        user = nic["properties"].get("vm_id")
        used = f"is attached to {user.rsplit('/', 1)[-1]}" if user else "exists"
        claimant = nic["tags"].get(TAG_SPEC) if ctx.owns(nic) else None
        whose = f"belongs to {claimant} of this stack" if claimant else "does not belong to this stack"
        return (
            f"network interface {name} {used} and {whose}; "
            "the VM would take it over: rename the VM in the spec or remove the NIC"
        )

    def request(
        self, desired: r.Record, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer
    ) -> r.Record:
        if "/galleries/" in desired["properties"]["image"].lower():  # its own region's replica only
            image, region = desired["properties"]["image"], desired["location"]
            wait_for_replica(azure, image, region, ev.change.address, ctx.submitted, obs)
        return with_image_disks(desired, obs)

    def create(self, desired: r.Record, azure: Provider) -> Pending | None:
        # Fan-outs create many VMs: their progress is followed by listing, not by a poller each,
        # and no thread waits through a create (the step resumes when the watcher sees it end).
        try:
            azure.submit(desired)
        except ProviderError as exc:
            if exc.code != "PreconditionFailed":
                raise
            return None  # it appeared since it was observed: the next evaluation reads it and decides
        return Pending(azure.watcher(r.VM), desired["resource_group"], desired["name"])

    def update(self, desired: r.Record, ev: Evaluation, azure: Provider) -> None:
        tags = dict(desired["tags"])
        observed_tags = (ev.observed or {}).get("tags") or {}
        if TAG_CUSTOMIZED in observed_tags:  # what ran inside the guest stays recorded
            tags[TAG_CUSTOMIZED] = observed_tags[TAG_CUSTOMIZED]
        azure.update_vm({**desired, "tags": tags}).wait()

    def delete(self, azure: Provider, record: r.Record) -> None:
        delete_vm(azure, record["resource_group"], record["name"])


class ExistingVmHandler(Handler):
    """``existing: true``: observed only, never changed."""

    def evaluate(self, step: Step, ctx: Context, obs: Observer) -> Evaluation:
        source = ctx.source_vm(step.document)
        observed = obs.get(r.VM, source.resource_group, source.vm_name)
        if observed is None:
            if source_already_captured(ctx, step.document, obs):
                return self.change(
                    step, "no-op", f"existing VM {source.vm_name} is gone, but its capture exists", None, None
                )
            return self.change(
                step,
                "conflict",
                f"existing VM {source.vm_name} not found in resource group {source.resource_group}",
                None,
                None,
                resource_id=ctx.resource_id(r.VM, source.resource_group, source.vm_name),
            )
        kind = observed["properties"].get("security_type")
        if source.security_type and kind and kind != source.security_type:
            return self.change(
                step,
                "conflict",
                f"{source.ref} declares securityType: {source.security_type}, but VM {source.vm_name} is a {kind} "
                f"VM (a VM's security type is fixed when it is created): set securityType: {kind}",
                None,
                observed,
            )
        return self.change(
            step,
            "no-op",
            f"existing {kind + ' ' if kind else ''}VM {source.vm_name}: observed only, never changed",
            None,
            observed,
        )

    def act(self, step: Step, ev: Evaluation, ctx: Context, azure: Provider, obs: Observer) -> None:
        raise StepFailed(step.address, ev.change.reason)
