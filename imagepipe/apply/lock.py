"""One run at a time per stack, across CI runners that share nothing but the subscription.

`apply` and `destroy` hold the stack's lease (imagepipe.azure.lease) while they change
anything. The lease names its holder (host, pid, run) and an expiry that a background
thread pushes forward; a second run finds it held and stops with a message naming the
holder. A lease is free when released, expired, or held by a process that provably no
longer exists (a SIGKILLed run), so a rerun after a kill goes ahead at once. "Provably"
means the same boot and the same PID namespace as ours, not merely the same host name: two
containers share a host name but not their PIDs, and a PID of another namespace says nothing
here.

A run may wait for a held lock (`--lock-timeout`), polling the lease; `imagepipe unlock STACK`
releases a lease by hand (its holder, if still alive, finds its lease gone at the next renewal).
A destroy deletes its lease record when it ends, and the lock group when no lease in it is held.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from imagepipe.azure.lease import GROUP_GONE, LeaseRecord, LeaseStore, LeaseTaken
from imagepipe.azure.target import Target
from imagepipe.errors import ImagepipeError
from imagepipe.steps.port import ProviderError

log = logging.getLogger("imagepipe.lock")


def _ttl() -> float:
    """The lease's lifetime in seconds (IMAGEPIPE_LOCK_TTL, at least 10; 300 by default)."""
    try:
        return max(10.0, float(os.environ.get("IMAGEPIPE_LOCK_TTL", "300")))
    except ValueError:
        return 300.0


TTL_SECONDS = _ttl()
TAKE_ATTEMPTS = 5
POLL_SECONDS = 2.0  # how often a waiting run reads the lease again
GROUP_POLL_SECONDS = 0.5
GROUP_WAIT_SECONDS = 600.0  # how long a run waits for a lock group that a destroy is deleting
# The commands whose run leaves no lease behind: a destroyed stack leaves nothing in the subscription.
REMOVES_ITS_LEASE = frozenset({"destroy"})

Notice = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def duration_text(seconds: float) -> str:
    """30 s, 5 min, 1 h 30 min: how a wait is said."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(part for part in parts if part) or "0 s"


class StackLockedError(ImagepipeError):
    """Another run holds the stack."""


def _now() -> float:
    return time.time()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiry(tags: dict[str, str]) -> float:
    """The lease's expiry (epoch seconds); an unreadable value counts as expired."""
    try:
        return float(tags.get("imagepipe-lock-expires", "0") or 0)
    except ValueError:
        return 0.0


def _read_identity(path: str, *, link: bool = False) -> str:
    try:
        return os.readlink(path) if link else Path(path).read_text().strip()
    except OSError:
        return ""


def process_scope() -> str:
    """Where this process's PID means something: the boot and the PID namespace, hashed.

    Empty when either is unknown (no /proc): then no holder is ever judged dead by its PID."""
    boot = _read_identity("/proc/sys/kernel/random/boot_id")
    namespace = _read_identity("/proc/self/ns/pid", link=True)
    if not boot or not namespace:
        return ""
    return hashlib.sha256(f"{boot}|{namespace}".encode()).hexdigest()[:16]


def _pid_gone(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def _holder_parts(holder: str) -> tuple[str, str, str, str]:
    """host, pid, run id and process scope of a holder tag; leases of older versions have no scope."""
    parts = (holder.split("/") + ["", "", "", ""])[:4]
    return parts[0], parts[1], parts[2], parts[3]


def lease_is_free(tags: dict[str, str], host: str, scope: str) -> bool:
    """Free when released or expired, or when its holder provably no longer exists: a process of
    this host, this boot and this PID namespace that is gone."""
    if _expiry(tags) <= _now():
        return True  # released, or its holder stopped renewing
    holder_host, pid, _run, holder_scope = _holder_parts(tags.get("imagepipe-lock-holder", ""))
    # A PID is only evidence within its own boot and PID namespace; without both, wait for expiry.
    same_place = holder_host == host and bool(holder_scope) and holder_scope == scope
    return same_place and _pid_gone(pid)


def held_error(stack: str, tags: dict[str, str], waited: float) -> StackLockedError:
    after = f" after waiting {duration_text(waited)}" if waited else ""
    hint = "" if waited else " (or wait for it with --lock-timeout, e.g. 5m)"
    return StackLockedError(
        f"another run holds stack {stack}: {StackLock.describe(tags)}; nothing was changed{after}, "
        f"run again when it has finished{hint}; `imagepipe unlock {stack}` releases a lease "
        "whose run is known to be gone"
    )


class StackLock:
    def __init__(self, target: Target, stack: str, location: str, command: str):
        self.store = LeaseStore(target, stack, location)
        self.stack = stack
        self.command = command
        self.host = socket.gethostname()
        self.scope = process_scope()
        self.run_id = uuid.uuid4().hex[:12]
        self.record: LeaseRecord | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    # ---- the lease's content ---------------------------------------------------------
    def _tags(self, expires: float, released: bool = False) -> dict[str, str]:
        return {
            "imagepipe-lock-stack": self.stack,
            "imagepipe-lock-holder": f"{self.host}/{os.getpid()}/{self.run_id}/{self.scope}",
            "imagepipe-lock-command": self.command,
            "imagepipe-lock-expires": "0" if released else f"{expires:.0f}",
        }

    def _is_free(self, tags: dict[str, str]) -> bool:
        return lease_is_free(tags, self.host, self.scope)

    @staticmethod
    def describe(tags: dict[str, str]) -> str:
        host, pid, _run, _scope = _holder_parts(tags.get("imagepipe-lock-holder", "?"))
        expires = _expiry(tags)
        return (
            f"`{tags.get('imagepipe-lock-command', 'a run')}` on {host} (pid {pid}), "
            f"lease until {_iso(expires)}"
        )

    # ---- take, renew, release ----------------------------------------------------------
    def acquire(self, timeout: float = 0.0, on_wait: Notice = _quiet) -> None:
        """Take the lease; while another run holds it, wait up to ``timeout`` seconds (saying so
        once through ``on_wait``), then raise StackLockedError naming the holder."""
        self.store.ensure_group()
        started = time.monotonic()
        told = False
        lost_races = 0
        while True:
            current = self.store.read()
            if current is not None and not self._is_free(current.tags):
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise held_error(self.stack, current.tags, timeout)
                if not told:
                    on_wait(
                        f"waiting up to {duration_text(timeout)} for the lock of stack {self.stack}, "
                        f"held by {self.describe(current.tags)} ..."
                    )
                    told = True
                time.sleep(min(POLL_SECONDS, max(0.05, timeout - waited)))
                continue
            try:
                self.record = self.store.write(
                    self._tags(_now() + TTL_SECONDS), if_match=current.etag if current else None
                )
                break
            except LeaseTaken:
                lost_races += 1  # another run wrote first: read again and decide
                if lost_races >= TAKE_ATTEMPTS and time.monotonic() - started >= timeout:
                    current = self.store.read()
                    holder = self.describe(current.tags) if current else "another run"
                    raise StackLockedError(f"another run holds stack {self.stack}: {holder}") from None
            except ProviderError as exc:
                # A destroy removed the lock group in between: wait until it is gone, make it again.
                if exc.code not in GROUP_GONE or time.monotonic() - started > GROUP_WAIT_SECONDS + timeout:
                    raise
                time.sleep(GROUP_POLL_SECONDS)
                self.store.ensure_group()
        log.info("took the lock of stack %s (run %s)", self.stack, self.run_id)
        self._thread = threading.Thread(target=self._renew_loop, name="stack-lock", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(TTL_SECONDS / 4):
            with self._mutex:
                if self._stop.is_set() or self.record is None:
                    return
                try:
                    self.record = self.store.write(
                        self._tags(_now() + TTL_SECONDS), if_match=self.record.etag
                    )
                except LeaseTaken:
                    self.lost = True
                    log.warning("the lock of stack %s was taken by another run", self.stack)
                    return
                except ImagepipeError as exc:  # a failed renewal is retried at the next beat
                    log.warning("could not renew the lock of stack %s: %s", self.stack, exc)

    def release(self) -> None:
        """Mark the lease free (expiry 0). The record stays: deleting it could delete the lease of
        a run that took it in between, since ARM deletes are not conditional. A destroy, which
        still holds its lease here, deletes the record instead, and the lock group when no other
        lease in it is held."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._mutex:
            if self.record is None or self.lost:
                return
            try:
                if self.command in REMOVES_ITS_LEASE:
                    self.store.delete()
                    self._remove_group_if_unused()
                else:
                    self.record = self.store.write(self._tags(0, released=True), if_match=self.record.etag)
            except (LeaseTaken, ImagepipeError) as exc:  # it expires on its own
                log.warning("could not release the lock of stack %s: %s", self.stack, exc)
            self.record = None

    def _remove_group_if_unused(self) -> None:
        leases = self.store.leases()
        if leases is None or any(_expiry(lease.tags) > _now() for lease in leases):
            return  # something else lives there, or another stack's run holds its lease
        self.store.delete_group()


def force_unlock(target: Target, stack: str, confirm: Callable[[str], bool]) -> tuple[bool, str]:
    """Release a stack's lease by hand (its run was killed on a machine we cannot see).

    ``confirm`` is asked with the holder's description. Returns (released, holder). The lease is
    written conditioned on the ETag that was shown, so a lease taken since is never released."""
    store = LeaseStore(target, stack, "")
    current = store.read()
    if current is None or _expiry(current.tags) <= _now():
        raise ImagepipeError(f"stack {stack} is not locked: no run holds its lease")
    holder = StackLock.describe(current.tags)
    if not confirm(holder):
        return False, holder
    released = dict(current.tags) | {"imagepipe-lock-expires": "0"}
    try:
        store.write_tags(released, if_match=current.etag)
    except LeaseTaken:
        raise ImagepipeError(
            f"the lock of stack {stack} changed while you were asked; nothing was released, run unlock again"
        ) from None
    return True, holder


def wait_until_free(target: Target, stack: str, timeout: float, on_wait: Notice = _quiet) -> None:
    """Wait (reading only) up to ``timeout`` seconds while a run holds the stack: a plan made
    meanwhile would show that run's changes half done. StackLockedError after the wait."""
    store = LeaseStore(target, stack, "")
    host, scope = socket.gethostname(), process_scope()
    started = time.monotonic()
    told = False
    while True:
        current = store.read()
        if current is None or lease_is_free(current.tags, host, scope):
            return
        waited = time.monotonic() - started
        if waited >= timeout:
            raise held_error(stack, current.tags, timeout)
        if not told:
            on_wait(
                f"waiting up to {duration_text(timeout)} for the lock of stack {stack}, "
                f"held by {StackLock.describe(current.tags)} ..."
            )
            told = True
        time.sleep(min(POLL_SECONDS, max(0.05, timeout - waited)))


@contextmanager
def hold_stack(
    target: Target, stack: str, location: str, command: str, *, timeout: float = 0.0, on_wait: Notice = _quiet
) -> Iterator[StackLock]:
    """Hold the stack's lock for the block; while another run holds it, wait up to ``timeout``
    seconds, then StackLockedError."""
    lock = StackLock(target, stack, location, command)
    lock.acquire(timeout, on_wait)
    try:
        yield lock
    finally:
        lock.release()
