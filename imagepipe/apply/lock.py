"""One run at a time per stack, across CI runners that share nothing but the subscription.

`apply` and `destroy` hold the stack's lease (imagepipe.azure.lease) while they change
anything. The lease names its holder (host, pid, run) and an expiry that a background
thread pushes forward; a second run finds it held and stops with a message naming the
holder. A lease is free when released, expired, or held by a process that provably no
longer exists (a SIGKILLed run), so a rerun after a kill goes ahead at once. "Provably"
means the same boot and the same PID namespace as ours, not merely the same host name: two
containers share a host name but not their PIDs, and a PID of another namespace says nothing
here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from imagepipe.azure.lease import LeaseRecord, LeaseStore, LeaseTaken
from imagepipe.azure.target import Target
from imagepipe.errors import ImagepipeError

log = logging.getLogger("imagepipe.lock")


def _ttl() -> float:
    """The lease's lifetime in seconds (IMAGEPIPE_LOCK_TTL, at least 10; 300 by default)."""
    try:
        return max(10.0, float(os.environ.get("IMAGEPIPE_LOCK_TTL", "300")))
    except ValueError:
        return 300.0


TTL_SECONDS = _ttl()
TAKE_ATTEMPTS = 5


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
        if _expiry(tags) <= _now():
            return True  # released, or its holder stopped renewing
        host, pid, _run, scope = _holder_parts(tags.get("imagepipe-lock-holder", ""))
        # A PID is only evidence within its own boot and PID namespace; without both, wait for expiry.
        same_place = host == self.host and bool(scope) and scope == self.scope
        return same_place and _pid_gone(pid)

    @staticmethod
    def describe(tags: dict[str, str]) -> str:
        host, pid, _run, _scope = _holder_parts(tags.get("imagepipe-lock-holder", "?"))
        expires = _expiry(tags)
        return (
            f"`{tags.get('imagepipe-lock-command', 'a run')}` on {host} (pid {pid}), "
            f"lease until {_iso(expires)}"
        )

    # ---- take, renew, release ----------------------------------------------------------
    def acquire(self) -> None:
        self.store.ensure_group()
        for _ in range(TAKE_ATTEMPTS):
            current = self.store.read()
            if current is not None and not self._is_free(current.tags):
                raise StackLockedError(
                    f"another run holds stack {self.stack}: {self.describe(current.tags)}; "
                    "nothing was changed, run again when it has finished"
                )
            try:
                self.record = self.store.write(
                    self._tags(_now() + TTL_SECONDS), if_match=current.etag if current else None
                )
                break
            except LeaseTaken:
                continue  # another run wrote first: read again and decide
        else:
            current = self.store.read()
            holder = self.describe(current.tags) if current else "another run"
            raise StackLockedError(f"another run holds stack {self.stack}: {holder}")
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
        a run that took it in between, since ARM deletes are not conditional."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._mutex:
            if self.record is None or self.lost:
                return
            try:
                self.record = self.store.write(self._tags(0, released=True), if_match=self.record.etag)
            except (LeaseTaken, ImagepipeError) as exc:  # it expires on its own
                log.warning("could not release the lock of stack %s: %s", self.stack, exc)
            self.record = None


@contextmanager
def hold_stack(target: Target, stack: str, location: str, command: str) -> Iterator[StackLock]:
    """Hold the stack's lock for the block; StackLockedError when another run holds it."""
    lock = StackLock(target, stack, location, command)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
