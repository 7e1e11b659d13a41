"""The ports of the engine: what it needs from a cloud (Provider) and from observed state (Observer).

``imagepipe.azure.adapters.Azure`` implements Provider over the SDK clients (Azure or
the emulator as a target); ``imagepipe.plan.observe`` implements Observer (a batched
snapshot when planning, live reads when applying). Steps, plan and apply depend on
these protocols only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from imagepipe.errors import ImagepipeError
from imagepipe.vocabulary import Record

RecordSink = Callable[[Record], None]


class ProviderError(ImagepipeError):
    """One failed operation of a provider: which resource, which operation, the provider's code
    and message, and whether trying again may help (the provider classifies its own codes)."""

    def __init__(
        self,
        resource: str,
        operation: str,
        code: str | None,
        message: str,
        status: int | None,
        retryable: bool,
    ):
        self.resource = resource
        self.operation = operation
        self.code = code or "Unknown"
        self.provider_message = message
        self.status = status
        self.retryable = retryable
        super().__init__(f"{operation} {resource}: {self.code}: {message}")

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "operation": self.operation,
            "code": self.code,
            "message": self.provider_message,
            "status": self.status,
            "retryable": self.retryable,
        }


class Operation(Protocol):
    """A started operation: wait() blocks until it ends (raising its ProviderError) and returns
    the record."""

    def wait(self) -> Record | None: ...


class Watcher(Protocol):
    def wait(self, rg: str, name: str) -> Record:
        """Block until a submitted create's provisioning state is final; raise its error if it failed."""
        ...

    def when_final(self, rg: str, name: str, then: Callable[[Exception | None], None]) -> None:
        """Call ``then`` (from the watcher's thread) once the create is final: with its error if it
        failed, else None."""
        ...


@dataclass(frozen=True)
class Pending:
    """What an act hands back instead of blocking: a create it submitted, whose end a watcher
    reports. The step goes on once it is final, so no thread waits through a VM's create."""

    watcher: Watcher
    rg: str
    name: str


class Provider(Protocol):
    """Reads and writes of a cloud, in neutral records; every failure is a ProviderError.

    A failed resource's record carries ``error`` (``code``, ``message``, ``retryable``)."""

    subscription_id: str

    def describe_target(self) -> dict[str, str]:
        """Where this provider acts (kind, subscription, ...), for every plan to name."""
        ...

    @property
    def polling_interval(self) -> float:
        """Seconds between two reads of an operation in progress (short against an emulator)."""
        ...

    # ---- reads
    def list_resource_groups(self) -> list[Record]: ...

    def list(self, type_: str, rg: str) -> list[Record]: ...

    def list_all(self, type_: str) -> list[Record]: ...

    def owned(self, stack: str) -> list[Record]: ...

    def gallery_children(self, rg: str, gallery: str) -> list[Record]: ...

    def group_is_empty(self, rg: str) -> bool: ...

    def get(self, type_: str, rg: str, name: str) -> Record | None: ...

    def get_run_command(self, rg: str, vm: str, name: str) -> Record | None: ...

    def rolling_upgrade(self, rg: str, name: str) -> Record | None:
        """A scale set's latest rolling upgrade: ``code`` (RollingForward, Completed, Faulted,
        Cancelled), ``progress`` counts and ``error`` (``code``, ``message``); None when none ran."""
        ...

    def private_ips(self, nic_id: str) -> list[str]:
        """The private IP addresses of a network interface, by its id (none when it is gone)."""
        ...

    # ---- writes
    def create(self, desired: Record) -> Operation: ...

    def submit(self, desired: Record) -> None: ...

    def watcher(self, type_: str) -> Watcher: ...

    def follow_provisioned(self, sink: RecordSink) -> None:
        """Where the records that a watcher listed once their create ended are reported."""
        ...

    def update_vm(self, desired: Record) -> Operation: ...

    def update_vmss(self, desired: Record) -> Operation: ...

    def update_tags(self, type_: str, rg: str, name: str, tags: dict[str, str]) -> Operation: ...

    def mark_gallery_version(
        self, rg: str, name: str, exclude_from_latest: bool, end_of_life: str | None
    ) -> Operation:
        """Set a gallery version's excludeFromLatest and (when given, ISO 8601) endOfLifeDate."""
        ...

    def delete(self, type_: str, rg: str, name: str) -> Operation: ...

    # ---- VM actions
    def run_command(self, rg: str, vm: str, name: str, location: str, script: str) -> Operation: ...

    def delete_run_command(self, rg: str, vm: str, name: str) -> Operation: ...

    def deallocate(self, rg: str, vm: str) -> Operation: ...

    def power_off(self, rg: str, vm: str) -> Operation: ...

    def start(self, rg: str, vm: str) -> Operation: ...

    def generalize(self, rg: str, vm: str) -> None: ...


class Observer(Protocol):
    """Observed state, the same questions when planning and when applying."""

    def get(self, type_: str, rg: str, name: str) -> Record | None: ...

    def vm(self, rg: str, name: str) -> Record | None:
        """A VM with its instance view (power state, generalized state, failure)."""
        ...

    def run_command(self, rg: str, vm: str, name: str) -> Record | None: ...

    def list_all(self, type_: str) -> list[Record]:
        """Every resource of a type in the subscription (who uses an image version)."""
        ...

    def gallery_children(self, rg: str, gallery: str) -> list[Record]:
        """A gallery's versions, then its definitions."""
        ...

    def planned(self, type_: str, rg: str, name: str) -> Record | None:
        """What planning saw, for checks only a plan makes (apply refuses a plan's conflicts
        before acting): the snapshot's record when planning, None (no read) when applying."""
        ...
