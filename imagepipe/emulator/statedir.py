"""The emulator's state folder: private (0700, files 0600), never reached through a symbolic link
imagepipe did not make, and held by one process at a time (an OS lock on a file inside it)."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "emulator.lock"
WAIT_VARIABLE = "IMAGEPIPE_STATE_WAIT"
DEFAULT_WAIT = 60.0
DEBUG_LOG = "debug.log"  # written by the CLI on an internal error, next to the embedded state


class StateFolderError(OSError):
    """The state folder cannot be used safely; the message says why, for the user."""


class StateFolderBusy(StateFolderError):
    """Another process serves this state folder."""


def _refuse_link(path: Path) -> None:
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise StateFolderError(
                f"refusing to use {path}: it is a symbolic link, and imagepipe never writes through "
                "a link in its state folder (remove it)"
            )
    except FileNotFoundError:
        pass


def prepare(state_dir: Path) -> Path:
    """Make the folder (0700) if missing and return its absolute real path; refuse a symbolic link.

    Call with the path as the user named it: a link is seen only before it is resolved.
    """
    state_dir = Path(state_dir).expanduser()
    # A relative path is checked from the working folder down (a committed `.imagepipe` link);
    # an absolute one only at its end (the user chose every folder above it).
    checked = [state_dir.parents[i] for i in range(len(state_dir.parts) - 2, -1, -1)]
    for folder in [*checked, state_dir] if not state_dir.is_absolute() else [state_dir]:
        _refuse_link(folder)
    if not state_dir.exists():
        state_dir.mkdir(mode=0o700, parents=True)
    elif not state_dir.is_dir():
        raise StateFolderError(f"{state_dir} is not a folder")
    return state_dir.resolve()


def refuse_links(state_dir: Path, names: list[str]) -> None:
    """Refuse when a file imagepipe would write in the state folder is a symbolic link."""
    for name in names:
        _refuse_link(state_dir / name)


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """Open (creating 0600) without following a final symbolic link; a link is refused by name."""
    try:
        return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise StateFolderError(
                f"refusing to write {path}: it is a symbolic link, and imagepipe never writes through "
                "a link in its state folder (remove it)"
            ) from None
        raise


def write_private(path: Path, data: bytes) -> None:
    """Write a whole file 0600: a fresh temporary file renamed over `path` (a rename replaces a link,
    it never writes through it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def default_wait() -> float:
    """How long an embedded emulator waits for a busy state folder: `IMAGEPIPE_STATE_WAIT` or 60 s."""
    try:
        return max(0.0, float(os.environ.get(WAIT_VARIABLE, DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


def _say_waiting(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class StateLock:
    """An exclusive `flock` on `emulator.lock` in the state folder, held while the emulator serves.

    The OS drops the lock when the holder exits, however it exits, so a stale lock cannot stay.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0, on_wait: Callable[[str], None] = _say_waiting) -> None:
        fd = open_private(self.path, os.O_RDWR)
        deadline = time.monotonic() + wait
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(fd)
                    if time.monotonic() >= deadline:
                        raise StateFolderBusy(
                            f"the state folder {self.path.parent} is in use by {holder.described}; "
                            f"{holder.advice}"
                        ) from None
                    if not told:
                        on_wait(
                            f"waiting up to {wait:g} s for the state folder {self.path.parent}, "
                            f"in use by {holder.described} ..."
                        )
                        told = True
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def announce_serving(self, endpoint: str) -> None:
        """Say in the lock file that this process serves the folder at ``endpoint`` until stopped:
        another imagepipe process that finds the folder busy names the endpoint to use instead."""
        if self._fd is not None:
            os.pwrite(self._fd, f"{os.getpid()}\nserving {endpoint}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


@dataclass(frozen=True)
class Holder:
    """What the lock file says of the process that holds the folder."""

    pid: str
    serving: str = ""  # the endpoint of `imagepipe emulator serve`, when it is one

    @property
    def described(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
        if self.serving:
            return f"`imagepipe emulator serve` ({pid}) at {self.serving}"
        return f"another imagepipe process ({pid})"

    @property
    def advice(self) -> str:
        if self.serving:  # it serves until stopped
            return (
                "to use that emulator, eval the export lines it printed (commands then go to its "
                "endpoint); otherwise stop it, or use another state folder"
            )
        return "stop it, wait for it to finish, or use another state folder"


def _holder(fd: int) -> Holder:
    try:
        text = os.pread(fd, 512, 0).decode("ascii", "replace")
    except OSError:
        text = ""
    lines = text.splitlines()
    pid = lines[0].strip() if lines and lines[0].strip().isdigit() else ""
    serving = next(
        (line.removeprefix("serving ").strip() for line in lines[1:2] if line.startswith("serving ")), ""
    )
    # Printed in messages: only what an endpoint URL is made of.
    if not all(ch.isalnum() or ch in ":/.[]-_" for ch in serving):
        serving = "an endpoint"
    return Holder(pid, serving)
