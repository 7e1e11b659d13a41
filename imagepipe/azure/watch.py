"""Follow many creates at once by listing their resource groups, not with a poller each.

A fan-out of hundreds of VMs would otherwise poll hundreds of operation URLs;
here every waiting step registers the VM it created, and one thread lists each
resource group that has waiters (one paged read per group and round) until each
VM's provisioning state is final. A failed VM is read once more for its error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imagepipe.azure import records as r
from imagepipe.azure.errors import AzureOperationError

log = logging.getLogger("imagepipe.azure")

FINAL = frozenset({"succeeded", "failed", "canceled"})
ROUND_PAUSE_FACTOR = 2.0
MAX_FAILED_ROUNDS = 3  # consecutive failed lists of a group (each already retried per request)


@dataclass
class _Waiter:
    done: threading.Event = field(default_factory=threading.Event)
    record: r.Record | None = None
    error: AzureOperationError | None = None
    deadline: float = 0.0
    then: Callable[[Exception | None], None] | None = None  # told from the watcher's thread


class ProvisioningWatcher:
    """One lister thread for every pending create of one resource type on one target."""

    def __init__(
        self,
        list_group: Callable[[str], list[r.Record]],
        get: Callable[[str, str], r.Record | None],
        type_: str,
        interval: float,
        report: Callable[[r.Record], None],
        timeout: float = 3 * 3600.0,
    ):
        """``list_group`` lists the type in a group, ``get`` reads one (a failed one's error),
        ``report`` is told every record that ended Succeeded (its next read can use it)."""
        self.list_group = list_group
        self.get = get
        self.report = report
        self.type = type_
        self.interval = interval
        self.timeout = timeout
        self._waiters: dict[tuple[str, str], _Waiter] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wait(self, rg: str, name: str) -> r.Record:
        """Block until the resource's provisioning state is final; raise its error if it failed."""
        waiter = self._register(rg, name, None)
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        assert waiter.record is not None
        return waiter.record

    def when_final(self, rg: str, name: str, then: Callable[[Exception | None], None]) -> None:
        """Call ``then`` from the watcher's thread once the provisioning state is final: with the
        error if it failed, else None. The caller holds no thread meanwhile."""
        self._register(rg, name, then)

    def _register(self, rg: str, name: str, then: Callable[[Exception | None], None] | None) -> _Waiter:
        waiter = _Waiter(deadline=time.monotonic() + self.timeout, then=then)
        with self._lock:
            self._waiters[(rg, name)] = waiter
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"watch-{self.type}", daemon=True)
                self._thread.start()
        return waiter

    def _run(self) -> None:
        failures: dict[str, int] = {}  # consecutive failed lists per group
        while True:
            with self._lock:
                pending = dict(self._waiters)
                if not pending:
                    self._thread = None
                    return
            started = time.monotonic()
            for rg in sorted({rg for rg, _ in pending}):
                try:
                    listed = {rec["name"].lower(): rec for rec in self.list_group(rg)}
                except Exception as unexpected:  # noqa: BLE001 - the thread must end every wait, whatever failed
                    exc = (
                        unexpected
                        if isinstance(unexpected, AzureOperationError)
                        else AzureOperationError(
                            f"{self.type} in {rg}",
                            "list",
                            type(unexpected).__name__,
                            str(unexpected),
                            None,
                            False,
                        )
                    )
                    failures[rg] = failures.get(rg, 0) + 1
                    log.debug("listing %s in %s failed: %s", self.type, rg, exc)
                    # A bad round: the next one reads again. An error its request retries could
                    # not clear, or several bad rounds, end the waits (bounded, never for ever).
                    if not exc.retryable or failures[rg] >= MAX_FAILED_ROUNDS:
                        for (group, name), waiter in pending.items():
                            if group == rg:
                                self._fail(group, name, waiter, exc)
                    continue
                failures.pop(rg, None)
                for (group, name), waiter in pending.items():
                    if group == rg:
                        self._settle(group, name, waiter, listed.get(name.lower()))
            # A round of big lists costs CPU the steps that are creating need too: at most a third.
            time.sleep(max(self.interval, ROUND_PAUSE_FACTOR * (time.monotonic() - started)))

    def _settle(self, rg: str, name: str, waiter: _Waiter, rec: r.Record | None) -> None:
        state = ((rec or {}).get("provisioning_state") or "").lower()
        if state not in FINAL:
            if time.monotonic() < waiter.deadline:
                return
            waiter.error = AzureOperationError(
                f"{self.type}/{name}", "create", "Timeout", "still not provisioned"
            )
        elif state == "succeeded":
            waiter.record = rec
            self.report(rec)  # the step's verification reads this instead of a GET
        else:
            detail = self.get(rg, name) or rec or {}
            error = detail.get("error") or {}
            waiter.error = AzureOperationError(
                f"{self.type}/{name}",
                "create",
                error.get("code") or f"Provisioning{state.title()}",
                error.get("message") or f"provisioning ended {state}",
            )
        self._finish(rg, name, waiter)

    def _fail(self, rg: str, name: str, waiter: _Waiter, error: AzureOperationError) -> None:
        waiter.error = error
        self._finish(rg, name, waiter)

    def _finish(self, rg: str, name: str, waiter: _Waiter) -> None:
        with self._lock:
            self._waiters.pop((rg, name), None)
        waiter.done.set()
        if waiter.then is not None:
            try:
                waiter.then(waiter.error)
            except Exception:  # noqa: BLE001 - one caller's bug must not end the other waits
                log.exception("the follow-up of %s/%s failed", rg, name)
