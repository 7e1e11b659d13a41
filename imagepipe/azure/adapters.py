"""Resource adapters: read (batched), create/update, delete and VM actions.

Every method speaks neutral records (``imagepipe.azure.records``) and returns
either records or a Handle to wait on; every SDK failure becomes an
AzureOperationError. This is the only module that calls the SDK clients.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, map_error
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.compute.operations import _operations as compute_requests
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.network.operations import _operations as network_requests
from azure.mgmt.resource.resources.operations import _operations as resource_requests

from imagepipe.azure import bodies
from imagepipe.azure import records as r
from imagepipe.azure.errors import translated
from imagepipe.azure.target import Target
from imagepipe.azure.watch import ProvisioningWatcher
from imagepipe.vocabulary import RESOURCE_TYPES, Reading, resource_type

log = logging.getLogger("imagepipe.azure")

TAG_STACK = "imagepipe-stack"
# Types created by the hundred in a fan-out: their creates are followed by listing their
# groups (one read per group and round, see watch.py) instead of a poller each.
WATCHED_CREATES = frozenset(t.arm_type for t in RESOURCE_TYPES.values() if t.watched)
# The extra options of a GET, by how the resource table says a record is read.
READ_OPTIONS: dict[Reading, dict[str, Any]] = {
    Reading.INSTANCE_VIEW: {"expand": "instanceView"},
    Reading.NESTED_REPLICATION: {"expand": "ReplicationStatus"},
}


def _reading(type_: str) -> Reading:
    known = resource_type(type_)
    return known.reading if known is not None else Reading.PLAIN


def _nested(type_: str) -> bool:
    """A child resource addressed as "parent/child" names."""
    return _reading(type_) in (Reading.NESTED, Reading.NESTED_REPLICATION)


# The SDK's own request builders of the list operations (one group, the whole
# subscription): lists are read as plain JSON through the client's pipeline (auth,
# retries, pacing) because building SDK models for a thousand VMs per read would cost
# more CPU than the rest of a fan-out.
LIST_REQUESTS: dict[str, tuple[str, Callable[..., HttpRequest], Callable[..., HttpRequest]]] = {
    r.VM: (
        "compute",
        compute_requests.build_virtual_machines_list_request,
        compute_requests.build_virtual_machines_list_all_request,
    ),
    r.VMSS: (
        "compute",
        compute_requests.build_virtual_machine_scale_sets_list_request,
        compute_requests.build_virtual_machine_scale_sets_list_all_request,
    ),
    r.IMAGE: (
        "compute",
        compute_requests.build_images_list_by_resource_group_request,
        compute_requests.build_images_list_request,
    ),
    r.DISK: (
        "compute",
        compute_requests.build_disks_list_by_resource_group_request,
        compute_requests.build_disks_list_request,
    ),
    r.SNAPSHOT: (
        "compute",
        compute_requests.build_snapshots_list_by_resource_group_request,
        compute_requests.build_snapshots_list_request,
    ),
    r.NIC: (
        "network",
        network_requests.build_network_interfaces_list_request,
        network_requests.build_network_interfaces_list_all_request,
    ),
    r.VNET: (
        "network",
        network_requests.build_virtual_networks_list_request,
        network_requests.build_virtual_networks_list_all_request,
    ),
}


@dataclass
class Handle:
    """A started operation; wait() blocks until it ends and returns the resulting record."""

    resource: str
    operation: str
    poller: LROPoller | None = None
    parse: Callable[[Any], r.Record] | None = None
    value: Any = None
    watched: Callable[[], r.Record] | None = None  # followed by a ProvisioningWatcher's lists

    def wait(self) -> r.Record | None:
        if self.watched is not None:
            return self.watched()
        with translated(self.resource, self.operation):
            result = self.poller.result() if self.poller is not None else self.value
        if result is None or self.parse is None:
            return None
        return self.parse(r.wire(result))


def _ignore(_: r.Record) -> None:
    return None


def _rid(sub: str, rg: str, provider_type: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider_type}/{name}"


class Azure:
    """The engine's whole view of Azure, over one Target."""

    def __init__(self, target: Target):
        self.target = target
        self.compute = target.compute
        self.network = target.network
        self.resources = target.resources
        self.subscription_id = target.subscription_id
        self._watchers: dict[str, ProvisioningWatcher] = {}
        self._watch_lock = threading.Lock()
        self._provisioned: Callable[[r.Record], None] = _ignore

    def describe_target(self) -> dict[str, str]:
        return self.target.describe()

    @property
    def polling_interval(self) -> float:
        return self.target.polling_interval

    @property
    def speed(self) -> float:
        """The target's time scale (an emulator's --speed; Azure 1): the plan's estimate uses it."""
        return self.target.speed

    # ---- ids -------------------------------------------------------------------------
    def resource_id(self, type_: str, rg: str, name: str) -> str:
        if type_ == r.RESOURCE_GROUP:
            return f"/subscriptions/{self.subscription_id}/resourceGroups/{name}"
        return _rid(self.subscription_id, rg, type_, name)

    def subnet_id(self, rg: str, vnet: str, subnet: str) -> str:
        return _rid(self.subscription_id, rg, r.VNET, f"{vnet}/subnets/{subnet}")

    # ---- reads -----------------------------------------------------------------------
    def _ops(self, type_: str) -> Any:
        return {
            r.VNET: self.network.virtual_networks,
            r.NIC: self.network.network_interfaces,
            r.VM: self.compute.virtual_machines,
            r.IMAGE: self.compute.images,
            r.DISK: self.compute.disks,
            r.SNAPSHOT: self.compute.snapshots,
            r.GALLERY: self.compute.galleries,
            r.VMSS: self.compute.virtual_machine_scale_sets,
            r.RESTORE_POINT_COLLECTION: self.compute.restore_point_collections,
        }[type_]

    def _children(self, type_: str) -> Any:
        return {
            r.GALLERY_IMAGE: self.compute.gallery_images,
            r.GALLERY_VERSION: self.compute.gallery_image_versions,
            r.RESTORE_POINT: self.compute.restore_points,
        }[type_]

    def gallery_children(self, rg: str, gallery: str) -> list[r.Record]:
        """Versions then definitions of a gallery (they must go before it)."""
        with translated(f"{r.GALLERY}/{gallery}", "list"):
            try:
                images = [
                    r.gallery_image(r.wire(i))
                    for i in self.compute.gallery_images.list_by_gallery(rg, gallery)
                ]
                versions = [
                    r.gallery_version(r.wire(v))
                    for image in images
                    for v in self.compute.gallery_image_versions.list_by_gallery_image(
                        rg, gallery, image["name"].split("/")[-1]
                    )
                ]
            except ResourceNotFoundError:
                return []
        return versions + images

    def list_resource_groups(self) -> list[r.Record]:
        with translated("resource groups", "list"):
            request = resource_requests.build_resource_groups_list_request(self.subscription_id)
            return self._paged(self.resources, request, r.resource_group)

    def list(self, type_: str, rg: str) -> list[r.Record]:
        """Every resource of one type in one resource group: one paged read."""
        with translated(f"{type_} in {rg}", "list"):
            try:
                return self._list_json(type_, rg)
            except ResourceNotFoundError:
                return []

    def list_all(self, type_: str) -> list[r.Record]:
        """Every resource of one type in the subscription: one paged read for all groups."""
        with translated(f"{type_} in the subscription", "list"):
            return self._list_json(type_, None)

    def _list_json(self, type_: str, rg: str | None) -> list[r.Record]:
        client_name, in_group, in_subscription = LIST_REQUESTS[type_]
        client = getattr(self, client_name)
        if rg is None:
            request = in_subscription(subscription_id=self.subscription_id)
        else:
            request = in_group(resource_group_name=rg, subscription_id=self.subscription_id)
        return self._paged(client, request, r.PARSERS[type_])

    @staticmethod
    def _paged(client: Any, request: HttpRequest, parse: Callable[[Any], r.Record]) -> list[r.Record]:
        """Every page of a list request, parsed from its JSON."""
        found: list[r.Record] = []
        while True:
            # Streamed and read in big blocks: a non-streamed body is read 10 KB at a time, which
            # makes a page of 10,000 VMs (25 MB) three times slower to receive.
            response = client.send_request(request, stream=True)
            body = response.read()
            if response.status_code != 200:
                map_error(response.status_code, response, {404: ResourceNotFoundError})
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            page = orjson.loads(body)  # pages of thousands of VMs: a fraction of json.loads' time
            found.extend(parse(item) for item in page.get("value") or [])
            if not page.get("nextLink"):
                return found
            request = HttpRequest("GET", page["nextLink"])

    def owned(self, stack: str) -> list[r.Record]:
        """Everything that carries this stack's tag: one generic read plus the groups."""
        flt = f"tagName eq '{TAG_STACK}' and tagValue eq '{stack}'"
        with translated(f"resources of stack {stack}", "list"):
            sub = self.subscription_id
            found = self._paged(
                self.resources, resource_requests.build_resources_list_request(sub, filter=flt), r.generic
            )
            groups = self._paged(
                self.resources,
                resource_requests.build_resource_groups_list_request(sub, filter=flt),
                r.resource_group,
            )
        # Some servers ignore the filter on one of the lists: keep only what is really tagged.
        return [rec for rec in found + groups if rec["tags"].get(TAG_STACK) == stack]

    def group_is_empty(self, rg: str) -> bool:
        with translated(f"resource group {rg}", "list resources"):
            try:
                return next(iter(self.resources.resources.list_by_resource_group(rg)), None) is None
            except ResourceNotFoundError:
                return True

    def get(self, type_: str, rg: str, name: str) -> r.Record | None:
        resource = f"{type_}/{name}" if type_ != r.RESOURCE_GROUP else f"resource group {name}"
        with translated(resource, "get"):
            try:
                if type_ == r.RESOURCE_GROUP:
                    return r.resource_group(r.wire(self.resources.resource_groups.get(name)))
                options = READ_OPTIONS.get(_reading(type_), {})
                if _nested(type_):
                    return r.PARSERS[type_](
                        r.wire(self._children(type_).get(rg, *name.split("/"), **options))
                    )
                return r.PARSERS[type_](r.wire(self._ops(type_).get(rg, name, **options)))
            except ResourceNotFoundError:
                return None

    def private_ips(self, nic_id: str) -> list[str]:
        rg, name = r.resource_group_of(nic_id), nic_id.rstrip("/").rsplit("/", 1)[-1]
        with translated(f"{r.NIC}/{name}", "get"):
            try:
                body = r.wire(self.network.network_interfaces.get(rg, name))
            except ResourceNotFoundError:
                return []
        return r.private_ips(body)

    def get_run_command(self, rg: str, vm: str, name: str) -> r.Record | None:
        with translated(f"run command {vm}/{name}", "get"):
            try:
                item = self.compute.virtual_machine_run_commands.get_by_virtual_machine(
                    rg, vm, name, expand="instanceView"
                )
            except ResourceNotFoundError:
                return None
        return r.run_command(r.wire(item))

    # ---- writes ----------------------------------------------------------------------
    def create(self, desired: r.Record) -> Handle:
        """Create or update a resource to its desired record (an ARM PUT)."""
        type_, rg, name = desired["type"], desired["resource_group"], desired["name"]
        body = bodies.BUILDERS[type_](desired)
        resource = f"{type_}/{name}"
        with translated(resource, "create"):
            if type_ == r.RESOURCE_GROUP:
                value = self.resources.resource_groups.create_or_update(name, body)
                return Handle(resource, "create", value=value, parse=r.resource_group)
            if type_ == r.RESTORE_POINT_COLLECTION:  # a synchronous PUT (no LRO in the swagger)
                value = self.compute.restore_point_collections.create_or_update(rg, name, body)
                return Handle(resource, "create", value=value, parse=r.PARSERS[type_])
            if type_ == r.RESTORE_POINT:  # create only: a restore point is never updated
                poller = self.compute.restore_points.begin_create(rg, *name.split("/"), body)
                return Handle(resource, "create", poller, r.PARSERS[type_])
            if type_ in WATCHED_CREATES:
                self._ops(type_).begin_create_or_update(rg, name, body, polling=False)
                return Handle(resource, "create", watched=lambda: self.watcher(type_).wait(rg, name))
            if _nested(type_) or type_ == r.GALLERY:
                ops = self._children(type_) if _nested(type_) else self.compute.galleries
                poller = ops.begin_create_or_update(rg, *name.split("/"), body)
            else:
                poller = self._ops(type_).begin_create_or_update(rg, name, body)
        return Handle(resource, "create", poller, r.PARSERS[type_])

    def submit(self, desired: r.Record) -> None:
        """Send a create-only PUT (``If-None-Match: *``) without following its operation: a
        watcher lists its progress. A resource that exists already fails it with
        ``PreconditionFailed`` (412) instead of being overwritten."""
        type_, rg, name = desired["type"], desired["resource_group"], desired["name"]
        body = bodies.BUILDERS[type_](desired)
        with translated(f"{type_}/{name}", "create"):
            self._ops(type_).begin_create_or_update(
                rg, name, body, polling=False, match_condition=MatchConditions.IfMissing
            )

    def watcher(self, type_: str) -> ProvisioningWatcher:
        """The shared watcher of pending creates of one type (see imagepipe.azure.watch)."""
        with self._watch_lock:
            if type_ not in self._watchers:
                # Lists are cheap (one read per group and round, plain JSON): look often, so a
                # finished create frees its image slot soon after Azure reports it.
                interval = min(max(self.target.polling_interval / 4, 0.01), 5.0)
                self._watchers[type_] = ProvisioningWatcher(
                    lambda rg: self.list(type_, rg),
                    lambda rg, name: self.get(type_, rg, name),
                    type_,
                    interval,
                    self._report_provisioned,
                )
            return self._watchers[type_]

    def follow_provisioned(self, sink: Callable[[r.Record], None]) -> None:
        """Where the watchers report the records they listed once their create ended."""
        self._provisioned = sink

    def _report_provisioned(self, rec: r.Record) -> None:
        self._provisioned(rec)

    def start_gallery_version(self, desired: r.Record) -> None:
        """Submit a gallery version without waiting for its replication (watched per region)."""
        rg, name = desired["resource_group"], desired["name"]
        with translated(f"{r.GALLERY_VERSION}/{name}", "create"):
            self.compute.gallery_image_versions.begin_create_or_update(
                rg, *name.split("/"), bodies.gallery_version(desired), polling=False
            )

    def update_vm(self, desired: r.Record) -> Handle:
        resource = f"{r.VM}/{desired['name']}"
        with translated(resource, "update"):
            poller = self.compute.virtual_machines.begin_update(
                desired["resource_group"], desired["name"], bodies.vm_update(desired)
            )
        return Handle(resource, "update", poller, r.vm)

    def update_vmss(self, desired: r.Record) -> Handle:
        resource = f"{r.VMSS}/{desired['name']}"
        with translated(resource, "update"):
            poller = self.compute.virtual_machine_scale_sets.begin_update(
                desired["resource_group"], desired["name"], bodies.vmss_update(desired)
            )
        return Handle(resource, "update", poller, r.vmss)

    def rolling_upgrade(self, rg: str, name: str) -> r.Record | None:
        """The scale set's latest rolling upgrade (None when none ever ran)."""
        with translated(f"{r.VMSS}/{name}/rollingUpgrades/latest", "get"):
            try:
                item = self.compute.virtual_machine_scale_set_rolling_upgrades.get_latest(rg, name)
            except ResourceNotFoundError:
                return None
        return r.rolling_upgrade(r.wire(item))

    def update_tags(self, type_: str, rg: str, name: str, tags: dict[str, str]) -> Handle:
        """Replace the tags of a resource (resource groups, networks, VMs, images)."""
        resource = f"{type_}/{name}"
        with translated(resource, "update tags"):
            if type_ == r.RESOURCE_GROUP:
                value = self.resources.resource_groups.update(name, {"tags": tags})
                return Handle(resource, "update tags", value=value, parse=r.resource_group)
            if type_ in (r.VNET, r.NIC):
                value = self._ops(type_).update_tags(rg, name, {"tags": tags})
                return Handle(resource, "update tags", value=value, parse=r.PARSERS[type_])
            poller = self._ops(type_).begin_update(rg, name, {"tags": tags})
        return Handle(resource, "update tags", poller, r.PARSERS[type_])

    def mark_gallery_version(
        self, rg: str, name: str, exclude_from_latest: bool, end_of_life: str | None
    ) -> Handle:
        """PATCH a version's excludeFromLatest and endOfLifeDate (``gallery/definition/version``)."""
        resource = f"{r.GALLERY_VERSION}/{name}"
        with translated(resource, "update"):
            poller = self.compute.gallery_image_versions.begin_update(
                rg, *name.split("/"), bodies.version_marks(exclude_from_latest, end_of_life)
            )
        return Handle(resource, "update", poller, r.gallery_version)

    def delete(self, type_: str, rg: str, name: str) -> Handle:
        resource = f"{type_}/{name}" if type_ != r.RESOURCE_GROUP else f"resource group {name}"
        with translated(resource, "delete"):
            try:
                if type_ == r.RESOURCE_GROUP:
                    poller = self.resources.resource_groups.begin_delete(name)
                elif _nested(type_):
                    poller = self._children(type_).begin_delete(rg, *name.split("/"))
                elif type_ == r.GALLERY:
                    poller = self.compute.galleries.begin_delete(rg, name)
                else:
                    poller = self._ops(type_).begin_delete(rg, name)
            except ResourceNotFoundError:
                return Handle(resource, "delete")
        return Handle(resource, "delete", poller)

    # ---- VM actions ------------------------------------------------------------------
    def run_command(self, rg: str, vm: str, name: str, location: str, script: str) -> Handle:
        """Create the managed Run Command ``name`` on a VM; the handle ends when the script ends."""
        resource = f"run command {vm}/{name}"
        with translated(resource, "run"):
            poller = self.compute.virtual_machine_run_commands.begin_create_or_update(
                rg, vm, name, bodies.run_command(location, script)
            )
        return Handle(resource, "run", poller, r.run_command)

    def delete_run_command(self, rg: str, vm: str, name: str) -> Handle:
        resource = f"run command {vm}/{name}"
        with translated(resource, "delete"):
            try:
                poller = self.compute.virtual_machine_run_commands.begin_delete(rg, vm, name)
            except ResourceNotFoundError:
                return Handle(resource, "delete")
        return Handle(resource, "delete", poller)

    def deallocate(self, rg: str, vm: str) -> Handle:
        with translated(f"{r.VM}/{vm}", "deallocate"):
            return Handle(
                f"{r.VM}/{vm}", "deallocate", self.compute.virtual_machines.begin_deallocate(rg, vm)
            )

    def power_off(self, rg: str, vm: str) -> Handle:
        with translated(f"{r.VM}/{vm}", "power off"):
            return Handle(f"{r.VM}/{vm}", "power off", self.compute.virtual_machines.begin_power_off(rg, vm))

    def start(self, rg: str, vm: str) -> Handle:
        with translated(f"{r.VM}/{vm}", "start"):
            return Handle(f"{r.VM}/{vm}", "start", self.compute.virtual_machines.begin_start(rg, vm))

    def generalize(self, rg: str, vm: str) -> None:
        with translated(f"{r.VM}/{vm}", "generalize"):
            self.compute.virtual_machines.generalize(rg, vm)
