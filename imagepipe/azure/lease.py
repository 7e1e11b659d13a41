"""The stack lock's record in the target: a small virtual network whose tags hold the lease.

A run takes the lease with a create-only PUT (``If-None-Match: *``) or, when the lease is
free or stale, with a PUT conditioned on the ETag it read (``If-Match``): ARM answers 412
to every writer but one, so two runners that share nothing but the subscription agree.
Network resources carry ETags, cost nothing and need no other service. The record lives in
its own resource group, so a stack's groups stay empty and deletable and it is never part
of any stack's inventory. A destroy deletes its own record at the end, and the group with it
when no other lease in it is held, so a destroyed stack leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from imagepipe.azure.errors import translated
from imagepipe.azure.target import Target

LOCK_GROUP = "imagepipe-locks"
LOCK_PREFIX = "imagepipe-lock-"
# The lock group is gone or going (a destroy removed it): make it again, not a lost race.
GROUP_GONE = frozenset({"ResourceGroupNotFound", "ResourceGroupBeingDeleted"})
# The vnet itself is never used: one tiny address space that peers nothing.
_ADDRESS_SPACE = {"addressPrefixes": ["10.255.255.248/29"]}


@dataclass(frozen=True)
class LeaseRecord:
    etag: str
    tags: dict[str, str]


class LeaseTaken(Exception):
    """The conditional write lost: someone else created or changed the lease first."""


def lease_name(stack: str) -> str:
    return f"{LOCK_PREFIX}{stack}"


class LeaseStore:
    """Conditional reads and writes of one stack's lease record."""

    def __init__(self, target: Target, stack: str, location: str):
        self.network = target.network
        self.resources = target.resources
        self.stack = stack
        self.location = location
        self.name = lease_name(stack)

    def _where(self) -> str:
        return f"lock {LOCK_GROUP}/{self.name}"

    def ensure_group(self) -> None:
        with translated(f"resource group {LOCK_GROUP}", "create"):
            try:
                self.resources.resource_groups.get(LOCK_GROUP)
            except ResourceNotFoundError:
                self.resources.resource_groups.create_or_update(
                    LOCK_GROUP, {"location": self.location, "tags": {"purpose": "imagepipe stack locks"}}
                )

    def read(self) -> LeaseRecord | None:
        with translated(self._where(), "get"):
            try:
                vnet = self.network.virtual_networks.get(LOCK_GROUP, self.name)
            except ResourceNotFoundError:
                return None
        return LeaseRecord(vnet.etag or "", dict(vnet.tags or {}))

    def write_tags(self, tags: dict[str, str], *, if_match: str) -> LeaseRecord:
        """Replace the record's tags if its ETag is still ``if_match`` (its region unchanged)."""
        with translated(self._where(), "get"):
            vnet = self.network.virtual_networks.get(LOCK_GROUP, self.name)
        self.location = vnet.location or self.location
        return self.write(tags, if_match=if_match)

    def write(self, tags: dict[str, str], *, if_match: str | None) -> LeaseRecord:
        """Create (``if_match=None``: only if absent) or replace the record if its ETag is still ``if_match``."""
        condition = {"If-Match": if_match} if if_match else {"If-None-Match": "*"}
        body = {"location": self.location, "tags": tags, "properties": {"addressSpace": _ADDRESS_SPACE}}
        with translated(self._where(), "take" if if_match is None else "renew"):
            try:
                # The first answer decides who won; no polling (conditions must not ride on polls).
                # A renewal or a release is tried again at the next beat, or the lease expires on
                # its own: a few quick retries, so a failing target cannot hold the run's end.
                quick = {"retry_total": 2, "retry_backoff_max": 4} if if_match else {}
                poller = self.network.virtual_networks.begin_create_or_update(
                    LOCK_GROUP, self.name, body, headers=condition, polling=False, **quick
                )
                vnet = poller.result()
            except HttpResponseError as exc:
                code = getattr(exc.error, "code", None) if exc.error is not None else None
                if exc.status_code == 412 or (exc.status_code == 409 and code not in GROUP_GONE):
                    raise LeaseTaken(self.name) from None
                raise  # translated: the caller sees the code (a group being deleted is not a lost race)
        return LeaseRecord(vnet.etag or "", dict(vnet.tags or {}))

    def delete(self) -> None:
        """Delete this stack's record (only by the run that holds it: ARM deletes are unconditional)."""
        with translated(self._where(), "delete"), contextlib.suppress(ResourceNotFoundError):
            self.network.virtual_networks.begin_delete(LOCK_GROUP, self.name).result()

    def leases(self) -> list[LeaseRecord] | None:
        """Every lease record in the lock group; None when the group holds anything else (or is gone)."""
        with translated(f"resource group {LOCK_GROUP}", "list"):
            try:
                vnets = list(self.network.virtual_networks.list(LOCK_GROUP))
                others = [
                    res
                    for res in self.resources.resources.list_by_resource_group(LOCK_GROUP)
                    if (res.type or "").lower() != "microsoft.network/virtualnetworks"
                ]
            except ResourceNotFoundError:
                return None
        if others or any(not (vnet.name or "").startswith(LOCK_PREFIX) for vnet in vnets):
            return None
        return [LeaseRecord(vnet.etag or "", dict(vnet.tags or {})) for vnet in vnets]

    def delete_group(self) -> None:
        with translated(f"resource group {LOCK_GROUP}", "delete"), contextlib.suppress(ResourceNotFoundError):
            self.resources.resource_groups.begin_delete(LOCK_GROUP).result()
