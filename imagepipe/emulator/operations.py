"""Long-running operations over simulated time.

An operation is decided when it starts (its outcome, its effects on resources, its
end time on the clock's timeline, start + simulated duration / speed) and stored. Whenever a request comes
in, operations whose end time has passed are settled: their effects are applied to
the stored resources. Nothing runs in the background, and an operation in flight
when the emulator stops finishes by time after a restart.
"""

from __future__ import annotations

import heapq
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from imagepipe.emulator import ids
from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.store import Store

Effect = dict  # {"merge": id, "doc": {...}} | {"delete": id} | {"delete_group": id} | {"delete_tree": id}
DeleteHook = Callable[[Store, dict], None]

# Per resource type (lower case): what else changes when an effect deletes such a resource.
_DELETE_HOOKS: dict[str, DeleteHook] = {}


def on_delete(type_name: str, hook: DeleteHook) -> None:
    """Run `hook(store, doc)` whenever an operation's effect deletes a resource of `type_name`.

    Effects are plain data (stored, replayed after a restart), so the bookkeeping another
    resource keeps about the deleted one (a subnet's list of users, ...) is kept here.
    """
    _DELETE_HOOKS[type_name.lower()] = hook


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def deep_merge(target: dict, patch: dict) -> None:
    """Merge `patch` into `target`; a None value removes the key."""
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            deep_merge(target[k], v)
        else:
            target[k] = v


class Operations:
    def __init__(self, store: Store, clock: SimClock) -> None:
        self.store = store
        self.clock = clock
        self._due: list[tuple[float, str]] = []
        self._image_load: dict[str, list[float]] = defaultdict(list)
        self._delay = 0.0  # timeline seconds before operations started now really begin
        for op in store.operations.values():
            self._track(op)

    @contextmanager
    def deferred(self, seconds: float) -> Iterator[None]:
        """Operations started inside begin `seconds` from now (a deployment waits for dependencies)."""
        self._delay = max(0.0, seconds)
        try:
            yield
        finally:
            self._delay = 0.0

    def start(
        self,
        name: str,
        resource_id: str,
        duration: float,
        *,
        success: list[Effect] | None = None,
        failure: list[Effect] | None = None,
        error: dict | None = None,
        result: dict | None = None,
        image_key: str | None = None,
        namespace: str = "Microsoft.Compute",
        location: str = "westus",
        final_get: str | None = None,
    ) -> dict:
        """Record an operation that ends after `duration` simulated seconds (failing when `error`)."""
        now = self.clock.now() + self._delay
        op = {
            "id": str(uuid.uuid4()),
            "name": name,
            "resource_id": resource_id,
            "start": now,
            "end": now + self.clock.span(duration),
            "outcome": "Failed" if error else "Succeeded",
            "error": error,
            "effects": (failure if error else success) or [],
            "result": result,
            "image_key": image_key,
            "namespace": namespace,
            "location": location,
            "final_get": final_get,  # the resource a Location poll answers with once done (PUT/PATCH)
            "settled": False,
        }
        self.store.put_operation(op)
        self._track(op)
        return op

    def record(self, name: str, resource_id: str, error: dict | None = None) -> dict:
        """Journal a synchronous operation (done as it was asked)."""
        now = self.clock.now()
        op = {
            "id": str(uuid.uuid4()),
            "name": name,
            "resource_id": resource_id,
            "start": now,
            "end": now,
            "outcome": "Failed" if error else "Succeeded",
            "error": error,
            "effects": [],
            "result": None,
            "image_key": None,
            "namespace": "Microsoft.Compute",
            "location": "",
            "settled": True,
        }
        self.store.put_operation(op)
        return op

    def settle(self) -> None:
        """Apply the effects of every operation whose simulated time is over."""
        now = self.clock.now()
        if not self._due or self._due[0][0] > now:
            return
        with self.store.lock, self.store.transaction():
            while self._due and self._due[0][0] <= now:
                _, op_id = heapq.heappop(self._due)
                op = self.store.operations.get(op_id)
                if op is None or op["settled"]:
                    continue
                for effect in op["effects"]:
                    self._apply(effect)
                op["settled"] = True
                op["effects"] = []
                self.store.put_operation(op)

    def status(self, op: dict) -> str:
        return "InProgress" if self.clock.now() < op["end"] else op["outcome"]

    def remaining(self, op: dict) -> float:
        return max(0.0, op["end"] - self.clock.now())

    def in_flight(self, image_key: str) -> int:
        """How many successful creates from one image (and region) are still in flight."""
        now = self.clock.now()
        ends = [end for end in self._image_load.get(image_key, ()) if end > now]
        self._image_load[image_key] = ends
        return len(ends)

    def body(self, op: dict) -> dict:
        status = self.status(op)
        out = {"name": op["id"], "status": status, "startTime": iso(op["start"])}
        if status != "InProgress":
            out["endTime"] = iso(op["end"])
            if op["error"]:
                out["error"] = op["error"]
            elif op["result"] is not None:
                out["properties"] = {"output": op["result"]}
        return out

    def reset(self) -> None:
        self._due.clear()
        self._image_load.clear()

    def resync(self) -> None:
        """Rebuild the schedule from the store (after a rolled-back transaction)."""
        self.reset()
        for op in self.store.operations.values():
            self._track(op)

    def _track(self, op: dict) -> None:
        if not op["settled"]:
            heapq.heappush(self._due, (op["end"], op["id"]))
        if op.get("image_key") and op["outcome"] == "Succeeded":
            self._image_load[op["image_key"]].append(op["end"])

    def _apply(self, effect: Effect) -> None:
        store = self.store
        if "merge" in effect:
            doc = store.get(effect["merge"])
            if doc is not None:
                deep_merge(doc, effect["doc"])
                store.put(doc)
        elif "delete" in effect:
            self._delete(effect["delete"])
        elif "delete_group" in effect:
            parts = effect["delete_group"].strip("/").split("/")
            for doc in store.in_group(parts[1], parts[3]):
                self._delete(doc["id"])
            self._delete(effect["delete_group"])
        elif "delete_tree" in effect:
            prefix = ids.key(effect["delete_tree"]) + "/"
            sub = ids.split(effect["delete_tree"])
            for doc in store.in_group(sub["subscription"], sub["group"]):
                if ids.key(doc["id"]).startswith(prefix):
                    self._delete(doc["id"])
            self._delete(effect["delete_tree"])

    def _delete(self, resource_id: str) -> None:
        doc = self.store.get(resource_id)
        if doc is None:
            return
        hook = _DELETE_HOOKS.get(doc["type"].lower())
        if hook is not None:
            hook(self.store, doc)
        self.store.delete(resource_id)
