"""Run the emulator: uvicorn over TLS, in a background thread (Python API) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn

from imagepipe.emulator import ids, statedir
from imagepipe.emulator.app import Backend, build_app
from imagepipe.emulator.azcli.registry import register as serve_az_cli_types
from imagepipe.emulator.certs import CA_FILE, CERT_FILE, ensure_certificates
from imagepipe.emulator.clock import SimClock
from imagepipe.emulator.stats import REQUEST_LOG
from imagepipe.emulator.store import DB_FILE
from imagepipe.emulator.tokens import KEY_FILE


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # the TLS records of one answer wait for delayed ACKs (about 40 ms per request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _state_files(db_name: str) -> list[str]:
    """Every file the emulator writes in its state folder."""
    db_files = [db_name, f"{db_name}-wal", f"{db_name}-shm", f"{db_name}-journal"]
    return [statedir.LOCK_FILE, statedir.DEBUG_LOG, CA_FILE, CERT_FILE, KEY_FILE, REQUEST_LOG, *db_files]


class _Server(uvicorn.Server):
    """uvicorn, but a stop does not wait for idle TLS keep-alive clients to hang up, and
    Ctrl-C/SIGTERM end the process normally (exit 0) instead of re-raising the signal."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True

    async def _wait_tasks_to_complete(self) -> None:
        deadline = time.monotonic() + 0.2
        while (self.server_state.connections or self.server_state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for server in self.servers:
            server.close()


class Emulator:
    """A running emulator; use as a context manager or call `stop()`."""

    def __init__(
        self,
        state_dir: Path,
        *,
        speed: float = 100.0,
        throttling: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        client_secret: str = ids.DEFAULT_CLIENT_SECRET,
        db_name: str = DB_FILE,
        clock: SimClock | None = None,
        az_cli: bool = True,
        lock_wait: float = 0.0,
    ) -> None:
        if az_cli:  # `az vm create` sends template deployments with public IPs and NSGs
            serve_az_cli_types()
        self.state_dir = statedir.prepare(Path(state_dir))
        statedir.refuse_links(self.state_dir, _state_files(db_name))
        # One process per state folder: a second one would keep its own index of the same SQLite file.
        self._lock = statedir.StateLock(self.state_dir)
        self._lock.acquire(wait=lock_wait)
        try:
            tls = ensure_certificates(self.state_dir)
            self.ca_file = tls.ca_file
            self.backend = Backend(
                self.state_dir,
                speed=speed,
                throttling=throttling,
                client_secret=client_secret,
                db_name=db_name,
                clock=clock,
            )
        except BaseException:
            self._lock.release()
            raise
        try:
            self._socket = _bind(host, port)
        except BaseException:
            self.backend.close()
            self._lock.release()
            raise
        self.host = host
        self.port = self._socket.getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        self.endpoint = f"https://{url_host}:{self.port}"
        config = uvicorn.Config(
            build_app(self.backend),
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.cert_file),
            # The admin API trusts the socket's peer address only, never X-Forwarded-For.
            proxy_headers=False,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            backlog=2048,
        )
        self._server = _Server(config)
        self._thread: threading.Thread | None = None

    tenant_id = ids.TENANT_ID
    client_id = ids.CLIENT_ID
    subscription_id = ids.SUBSCRIPTION_ID

    @property
    def client_secret(self) -> str:
        return self.backend.client_secret

    @property
    def speed(self) -> float:
        return self.backend.speed

    @property
    def clock(self) -> SimClock:
        """The emulator's clock: `em.clock.advance(300)` skips 300 simulated seconds."""
        return self.backend.clock

    def url(self, path: str) -> str:
        return self.endpoint + (path if path.startswith("/") else "/" + path)

    def env(self) -> dict[str, str]:
        """The variables a client needs (what `imagepipe emulator serve` prints as export lines)."""
        return {
            "IMAGEPIPE_ENDPOINT": self.endpoint,
            "IMAGEPIPE_CA_FILE": str(self.ca_file),
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_CLIENT_SECRET": self.client_secret,
            "AZURE_AUTHORITY_HOST": self.endpoint,
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
        }

    def start(self) -> Emulator:
        """Serve in a background thread (its own event loop); return once connections are accepted."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="imagepipe-emulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling (main) thread until Ctrl-C or SIGTERM."""
        self._lock.announce_serving(self.endpoint)
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._close()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._thread = None
        self._close()

    def _close(self) -> None:
        if self._socket.fileno() != -1:
            self._socket.close()
        self.backend.close()
        self._lock.release()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_emulator(
    state_dir: Path,
    *,
    speed: float = 100.0,
    throttling: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    client_secret: str = ids.DEFAULT_CLIENT_SECRET,
    clock: SimClock | None = None,
    az_cli: bool = True,
    lock_wait: float | None = None,
) -> Emulator:
    """Start an emulator with its state in `state_dir` on a free port (or `port`) in a background thread.

    `clock` replaces the real-time clock of speed `speed` (a `ManualClock` for timing tests);
    `az_cli` serves what `az vm create` needs as well (template deployments, public IPs, NSGs).
    When another process serves `state_dir`, wait up to `lock_wait` seconds (saying so on stderr;
    by default `IMAGEPIPE_STATE_WAIT` or 60), then raise `statedir.StateFolderBusy`.
    """
    return Emulator(
        state_dir,
        speed=speed,
        throttling=throttling,
        host=host,
        port=port,
        client_secret=client_secret,
        clock=clock,
        az_cli=az_cli,
        lock_wait=statedir.default_wait() if lock_wait is None else lock_wait,
    ).start()
