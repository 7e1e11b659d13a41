"""Observed state, read in batches for planning and live for applying.

Both observers answer the same questions, so a step handler's observe/compare
code is the same when planning (a snapshot read once with one list per resource
group and type) and when applying (a fresh GET right before acting).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from imagepipe import vocabulary as r
from imagepipe.steps.port import Observer, Provider
from imagepipe.vocabulary import LISTED_TYPES

LIST_WORKERS = 4  # lists read at once when a plan takes its snapshot

__all__ = ["LISTED_TYPES", "ApplyObserver", "Inventory", "LiveObserver", "Observer"]


class LiveObserver:
    """Reads the target right now: used by apply before acting and to verify."""

    def __init__(self, azure: Provider):
        self.azure = azure

    def get(self, type_: str, rg: str, name: str) -> r.Record | None:
        return self.azure.get(type_, rg, name)

    def vm(self, rg: str, name: str) -> r.Record | None:
        return self.azure.get(r.VM, rg, name)

    def run_command(self, rg: str, vm: str, name: str) -> r.Record | None:
        return self.azure.get_run_command(rg, vm, name)

    def planned(self, type_: str, rg: str, name: str) -> r.Record | None:
        return None

    def list_all(self, type_: str) -> list[r.Record]:
        return self.azure.list_all(type_)

    def gallery_children(self, rg: str, gallery: str) -> list[r.Record]:
        return self.azure.gallery_children(rg, gallery)


class ApplyObserver(LiveObserver):
    """Live reads for apply, without reading again what was just read.

    A create followed by listing (azure/watch.py) reports the listed record here
    (remember): the step's verification uses it instead of a GET. Images and gallery versions
    replicated everywhere (immutable once succeeded) are read once per apply, gallery
    versions still replicating at most once per polling interval, although every VM
    of a fan-out asks for them.
    """

    SHARED = frozenset({r.IMAGE.lower(), r.GALLERY_VERSION.lower()})

    def __init__(self, azure: Provider, fresh_seconds: float, absent: Iterable[tuple[str, str, str]] = ()):
        super().__init__(azure)
        self.fresh_seconds = fresh_seconds
        # Records a watcher listed once their create ended, each used by one read.
        self._fresh: dict[tuple[str, str, str], r.Record] = {}
        self._shared: dict[tuple[str, str, str], tuple[float, r.Record | None]] = {}
        # VMs the plan found absent: their first read is skipped (a fan-out's GET per VM); the
        # create that follows is create-only, so one that appeared since is not overwritten.
        self._absent = set(absent)
        self._reading: dict[tuple[str, str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def remember(self, rec: r.Record) -> None:
        """A record just read by a list that followed its create: the next read of it can use it."""
        with self._lock:
            self._fresh[r.key(rec["type"], rec["resource_group"], rec["name"])] = rec

    def get(self, type_: str, rg: str, name: str) -> r.Record | None:
        k = r.key(type_, rg, name)
        with self._lock:
            fresh = self._fresh.pop(k, None)  # once: later reads go to Azure again
            if fresh is not None:
                return fresh
            if k in self._absent:
                self._absent.discard(k)
                return None
        if type_.lower() not in self.SHARED:
            return self.azure.get(type_, rg, name)
        with self._lock:
            reading = self._reading.setdefault(k, threading.Lock())
        with reading:  # the VMs that start together wait for one read, not one read each
            with self._lock:
                stamp, rec = self._shared.get(k, (float("-inf"), None))
            if _settled(rec) or time.monotonic() - stamp < self.fresh_seconds:
                return rec
            rec = self.azure.get(type_, rg, name)
            if rec is not None:  # an absent one is about to be created: ask again next time
                with self._lock:
                    self._shared[k] = (time.monotonic(), rec)
            return rec

    def forget(self) -> None:
        """After a step that may have changed an image or a version: read them again."""
        with self._lock:
            self._shared.clear()


def _settled(rec: r.Record | None) -> bool:
    """An image, or a gallery version replicated everywhere, that has succeeded: it stays so."""
    if rec is None or (rec.get("provisioning_state") or "") != "Succeeded":
        return False
    if rec["type"].lower() == r.GALLERY_VERSION.lower():
        replication = (rec.get("properties") or {}).get("replication") or {}
        return bool(replication) and all(state == "Completed" for state in replication.values())
    return rec["type"].lower() == r.IMAGE.lower()


class Inventory:
    """A snapshot of what exists, read once: one list per type (per group when only one).

    Reads that cannot be listed (a VM's instance view, a run command) are made
    on first use and remembered; handlers ask for them only for the few VMs a
    capture touches, so the number of reads does not grow with deployments.
    """

    def __init__(self, azure: Provider, stack: str):
        self.azure = azure
        self.stack = stack
        self.records: dict[tuple[str, str, str], r.Record] = {}
        self.owned: list[r.Record] = []
        self.listed: set[tuple[str, str]] = set()
        self._extra: dict[tuple[str, ...], list[r.Record]] = {}  # subscription lists, gallery children
        self._instance: dict[tuple[str, str], r.Record | None] = {}
        self._run_commands: dict[tuple[str, str, str], r.Record | None] = {}
        self._lock = threading.Lock()

    def load(self, resource_groups: Iterable[str], types: Iterable[str] = LISTED_TYPES) -> Inventory:
        types = tuple(types)
        # The lists are read side by side: while one big page is decoded here, the server
        # renders the next.
        with ThreadPoolExecutor(max_workers=LIST_WORKERS, thread_name_prefix="inventory") as pool:
            listing_groups = pool.submit(self.azure.list_resource_groups)
            listing_owned = pool.submit(self.azure.owned, self.stack)
            groups = {g["name"].lower(): g for g in listing_groups.result()}
            for group in groups.values():
                self._add(group)
            self.owned = listing_owned.result()
            wanted = {rg.lower(): rg for rg in resource_groups}
            wanted.update({rec["resource_group"].lower(): rec["resource_group"] for rec in self.owned})
            present = {lowered: rg for lowered, rg in sorted(wanted.items()) if lowered in groups}
            # An absent group holds nothing: no reads needed. Several groups: one list per type
            # for the whole subscription, so the reads do not grow with the groups either.
            lists: list[Future[list[r.Record]]] = []
            for type_ in types:
                if len(present) > 1:
                    lists.append(pool.submit(self.azure.list_all, type_))
                else:
                    lists += [pool.submit(self.azure.list, type_, rg) for rg in present.values()]
                self.listed.update((type_.lower(), lowered) for lowered in present)
            for listing in lists:  # in the order asked: the same snapshot whatever ends first
                for rec in listing.result():
                    self._add(rec)
        return self

    def _add(self, rec: r.Record) -> None:
        self.records[r.key(rec["type"], rec["resource_group"], rec["name"])] = rec

    def planned(self, type_: str, rg: str, name: str) -> r.Record | None:
        return self.get(type_, rg, name)

    def get(self, type_: str, rg: str, name: str) -> r.Record | None:
        found = self.records.get(r.key(type_, rg, name))
        if found is not None or type_ == r.RESOURCE_GROUP:
            return found
        if (type_.lower(), rg.lower()) in self.listed or self.get(r.RESOURCE_GROUP, rg, rg) is None:
            return None
        return self._fetch(type_, rg, name)  # a type this snapshot did not list

    def _fetch(self, type_: str, rg: str, name: str) -> r.Record | None:
        rec = self.azure.get(type_, rg, name)
        with self._lock:
            if rec is not None:
                self._add(rec)
            else:
                self.listed.add((type_.lower(), rg.lower()))
        return rec

    def vm(self, rg: str, name: str) -> r.Record | None:
        listed = self.get(r.VM, rg, name)
        if listed is None:
            return None
        k = (rg.lower(), name.lower())
        if k not in self._instance:
            self._instance[k] = self.azure.get(r.VM, rg, name)
        return self._instance[k]

    def list_all(self, type_: str) -> list[r.Record]:
        """Read once per plan, and only when a step asks (a gallery's retention)."""
        key = ("list_all", type_.lower())
        if key not in self._extra:
            self._extra[key] = self.azure.list_all(type_)
        return self._extra[key]

    def gallery_children(self, rg: str, gallery: str) -> list[r.Record]:
        key = ("gallery", rg.lower(), gallery.lower())
        if key not in self._extra:
            self._extra[key] = self.azure.gallery_children(rg, gallery)
        return self._extra[key]

    def run_command(self, rg: str, vm: str, name: str) -> r.Record | None:
        if self.get(r.VM, rg, vm) is None:
            return None
        k = (rg.lower(), vm.lower(), name.lower())
        if k not in self._run_commands:
            self._run_commands[k] = self.azure.get_run_command(rg, vm, name)
        return self._run_commands[k]
