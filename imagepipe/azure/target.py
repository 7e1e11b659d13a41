"""One place that turns a TargetConfig into a credential and the SDK clients.

``local`` starts the embedded emulator (state under ``.imagepipe/`` of the working
directory) and stops it when the Target is closed; ``--endpoint`` talks to any ARM
endpoint (a running emulator, a sovereign cloud) with DefaultAzureCredential;
``azure`` talks to management.azure.com. TLS verification is never disabled.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from imagepipe import __version__
from imagepipe.azure.pacing import Pacer
from imagepipe.errors import TargetError
from imagepipe.target_config import TargetConfig

log = logging.getLogger("imagepipe.azure")

AZURE_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
USER_AGENT = f"imagepipe/{__version__}"
LOCAL_SPEED = 100.0
CONNECTION_POOL_SIZE = 256
# A streamed body is read in blocks this big: a list of 10,000 VMs (25 MB) in 25 reads, not 6,000.
READ_BLOCK_BYTES = 1024 * 1024


class LoggedRetryPolicy(RetryPolicy):
    """azure-core's retry policy, bounded, with every retry logged at debug."""

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        status = getattr(getattr(response, "http_response", None), "status_code", None)
        request = getattr(getattr(response, "http_request", None), "url", None)
        # A warning, so that CI logs show every request retry (the count is bounded below).
        log.warning(
            "retrying %s (status %s, error %s)", request, status, type(error).__name__ if error else None
        )
        return super().increment(settings, response=response, error=error)


class PreferRetryAfterMs(SansIOHTTPPolicy):
    """Wait the exact `retry-after-ms` where an answer gives it beside `Retry-After`.

    azure-core (1.41) reads Retry-After first, and Retry-After is whole seconds; the
    emulator's speed-scaled delays (a few milliseconds) ride in retry-after-ms. Without
    this every poll of a running operation, and every 429 retry, would wait a second.
    ARM itself sends Retry-After alone, which is then used as before.
    """

    def on_response(self, request: PipelineRequest, response: Any) -> None:
        headers = response.http_response.headers
        if "retry-after-ms" in headers and "retry-after" in headers:
            with contextlib.suppress(TypeError, KeyError):
                del headers["retry-after"]


def pooled_transport(endpoint: str, ca_file: str | None) -> RequestsTransport:
    """azure-core's requests transport with a connection pool as large as a fan-out's concurrency.

    The default pool keeps 10 connections: with more steps in flight every extra
    request would open (and TLS-handshake) a new connection and throw it away.
    """
    session = requests.Session()
    no_retries = Retry(total=False, redirect=False, raise_on_status=False)  # azure-core retries
    session.mount("https://", HTTPAdapter(pool_maxsize=CONNECTION_POOL_SIZE, max_retries=no_retries))
    # requests reads the proxy variables again on every request (a scan of the whole
    # environment, ~15% of a request's CPU): every request of a client goes to one
    # endpoint, so read them once, no_proxy included, and the CA bundle variables too.
    session.proxies = requests.utils.get_environ_proxies(endpoint)
    session.trust_env = False
    ca_file = ca_file or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    kwargs: dict[str, Any] = {"connection_verify": ca_file} if ca_file else {}
    kwargs["connection_data_block_size"] = READ_BLOCK_BYTES
    return RequestsTransport(session=session, session_owner=True, **kwargs)


def retry_policy(fast: bool) -> RetryPolicy:
    # Bounded: a throttled or flaky call is retried a few times with backoff, then
    # surfaces as an error the engine classifies (and may retry at step level).
    return LoggedRetryPolicy(
        retry_total=8,
        retry_status=8,
        retry_connect=3,
        retry_read=3,
        retry_backoff_factor=0.05 if fast else 0.8,
        retry_backoff_max=5 if fast else 60,
    )


@dataclass
class Target:
    """Credential, subscription and SDK clients of one target; close() releases them."""

    name: str
    subscription_id: str
    endpoint: str
    compute: ComputeManagementClient
    network: NetworkManagementClient
    resources: ResourceManagementClient
    polling_interval: float
    emulator: Any = None  # the embedded emulator of --target local
    speed: float = 1.0  # an emulator's time scale (Azure: 1): its budgets refill this much faster
    credential: Any = None  # to name the signed-in principal (from its token's claims)
    state_dir: str = ""  # the embedded emulator's state folder
    chosen: bool = True  # False: --target local by default (no --target, no endpoint)
    _closers: list[Any] = field(default_factory=list)

    @property
    def is_emulated(self) -> bool:
        return self.endpoint != AZURE_ENDPOINT

    def describe(self) -> dict[str, str]:
        """Where a run acts, for every plan, apply and destroy (text and JSON)."""
        if self.state_dir:
            where = {
                "kind": "embedded-emulator",
                "state": self.state_dir,
                "subscription": self.subscription_id,
            }
            if os.environ.get("CI") and not self.chosen:
                where["warning"] = (
                    "CI is set and no --target was given: this run acts on a local emulator, not on "
                    "Azure; nothing in Azure is read or changed (pass --target azure)"
                )
            return where
        kind = "azure" if self.name == "azure" else "endpoint"
        where = {"kind": kind, "subscription": self.subscription_id}
        where["cloud" if kind == "azure" else "endpoint"] = "AzureCloud" if kind == "azure" else self.endpoint
        principal = signed_in_principal(self.credential)
        if principal:
            where["principal"] = principal
        return where

    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def signed_in_principal(credential: Any) -> str:
    """Who the token is for (user, app or managed identity), read from its claims; "" if unknown.

    The token's signature is not checked: the name is only shown, never trusted."""
    if credential is None:
        return ""
    try:
        token = credential.get_token(ARM_SCOPE).token
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:  # noqa: BLE001 - a name for a banner must never fail a run
        return ""
    name = claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username")
    if name:
        return str(name)
    app = claims.get("appid") or claims.get("azp")
    if app:
        return f"application {app}"
    return f"object {claims['oid']}" if claims.get("oid") else ""


def build_clients(
    credential: TokenCredential,
    subscription_id: str,
    endpoint: str,
    ca_file: str | None,
    polling_interval: float,
    fast_retries: bool,
    speed: float = 1.0,
) -> tuple[ComputeManagementClient, NetworkManagementClient, ResourceManagementClient]:
    pacer = Pacer(speed)  # one per subscription: shared by the three clients
    kwargs: dict[str, Any] = {
        "per_retry_policies": [pacer, PreferRetryAfterMs()],
        "base_url": endpoint,
        "credential_scopes": [ARM_SCOPE],
        "polling_interval": polling_interval,
        "retry_policy": retry_policy(fast_retries),
        "user_agent": USER_AGENT,
    }
    if ca_file:
        kwargs["connection_verify"] = ca_file
    return (
        ComputeManagementClient(
            credential, subscription_id, transport=pooled_transport(endpoint, ca_file), **kwargs
        ),
        NetworkManagementClient(
            credential, subscription_id, transport=pooled_transport(endpoint, ca_file), **kwargs
        ),
        ResourceManagementClient(
            credential, subscription_id, transport=pooled_transport(endpoint, ca_file), **kwargs
        ),
    )


def connect(config: TargetConfig, *, speed: float = LOCAL_SPEED, throttling: bool = True) -> Target:
    """Credential and clients for the configured target (starting the emulator for local)."""
    if config.endpoint:
        return _connect_endpoint(config)
    if config.target == "azure":
        return _connect_azure(config)
    return _connect_local(config, speed, throttling)


def connect_emulator(emulator: Any, polling_interval: float = 0.05) -> Target:
    # The emulator refills its buckets `speed` times faster than Azure (10 writes/s).
    """Clients for an emulator started elsewhere (tests); the caller stops the emulator."""
    credential = ClientSecretCredential(
        emulator.tenant_id,
        emulator.client_id,
        emulator.client_secret,
        authority=emulator.endpoint,
        disable_instance_discovery=True,
        connection_verify=str(emulator.ca_file),
    )
    speed = float(getattr(emulator, "speed", 1.0) or 1.0)
    compute, network, resources = build_clients(
        credential,
        emulator.subscription_id,
        emulator.endpoint,
        str(emulator.ca_file),
        polling_interval,
        True,
        speed=speed,
    )
    target = Target(
        "local", emulator.subscription_id, emulator.endpoint, compute, network, resources, polling_interval
    )
    target.emulator = emulator
    target.speed = speed
    target._closers.extend([credential.close, compute.close, network.close, resources.close])
    return target


def _connect_local(config: TargetConfig, speed: float, throttling: bool) -> Target:
    from imagepipe.emulator import start_emulator, statedir  # heavy; load it only for local

    state_dir = Path(config.state_dir)
    try:
        state_dir = statedir.prepare(state_dir)  # before resolving: a committed link is refused
        emulator = start_emulator(state_dir, speed=speed, throttling=throttling)
    except OSError as exc:
        raise TargetError(f"cannot start the embedded emulator in {state_dir}: {exc}") from None
    except sqlite3.Error as exc:  # its state file cannot be opened or written (a full disk, ...)
        raise TargetError(
            f"cannot start the embedded emulator: its state {state_dir / 'emulator.sqlite'} cannot be "
            f"used: {exc} (is the disk full?)"
        ) from None
    target = connect_emulator(emulator)
    target._closers.insert(0, emulator.stop)
    target.state_dir = str(config.state_dir)
    target.chosen = config.chosen
    return target


def _connect_endpoint(config: TargetConfig) -> Target:
    endpoint = config.endpoint.rstrip("/") if config.endpoint else ""
    if not endpoint.startswith("https://"):
        raise TargetError(f"--endpoint must be an https:// URL, got {endpoint!r}")
    if config.ca_file and not os.path.isfile(config.ca_file):
        raise TargetError(f"--ca-file {config.ca_file}: no such file")
    subscription = _subscription(config)
    cred_kwargs: dict[str, Any] = {"disable_instance_discovery": True}
    if config.ca_file:
        cred_kwargs["connection_verify"] = config.ca_file
    credential = DefaultAzureCredential(**cred_kwargs)
    speed = endpoint_speed(endpoint, config.ca_file)
    compute, network, resources = build_clients(
        credential, subscription, endpoint, config.ca_file, 0.2, False, speed=speed
    )
    target = Target("endpoint", subscription, endpoint, compute, network, resources, 0.2, speed=speed)
    target.credential = credential
    target._closers.extend([credential.close, compute.close, network.close, resources.close])
    return target


def endpoint_speed(endpoint: str, ca_file: str | None) -> float:
    """The time scale an endpoint reports: an imagepipe emulator answers its clock on loopback
    (`/_emulator/clock`), so the pacer refills its copies as fast as the emulator refills its
    buckets; anything else (Azure, a sovereign cloud) runs at 1."""
    host = (urlsplit(endpoint).hostname or "").lower()
    if host not in ("localhost", "127.0.0.1", "::1"):
        return 1.0
    verify: str | bool = ca_file or os.environ.get("REQUESTS_CA_BUNDLE") or True
    try:
        with requests.Session() as session:
            session.trust_env = False  # loopback: never through a proxy
            answer = session.get(f"{endpoint}/_emulator/clock", verify=verify, timeout=5)
        speed = float(answer.json()["speed"]) if answer.status_code == 200 else 1.0
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return 1.0
    return speed if speed > 0 else 1.0


def _connect_azure(config: TargetConfig) -> Target:
    subscription = _subscription(config)
    credential = DefaultAzureCredential()
    compute, network, resources = build_clients(credential, subscription, AZURE_ENDPOINT, None, 5.0, False)
    target = Target("azure", subscription, AZURE_ENDPOINT, compute, network, resources, 5.0)
    target.credential = credential
    target._closers.extend([credential.close, compute.close, network.close, resources.close])
    return target


def _subscription(config: TargetConfig) -> str:
    subscription = config.subscription or os.environ.get("AZURE_SUBSCRIPTION_ID")
    if not subscription:
        raise TargetError("no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID")
    return subscription
