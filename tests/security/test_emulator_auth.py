"""The emulator guards its doors as Azure does: ARM calls need a valid, unexpired token
issued for ARM (401 otherwise), the admin API answers loopback clients only, and no
code path of imagepipe turns TLS verification off."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential
from starlette.testclient import TestClient

from imagepipe.emulator import start_emulator, tokens
from imagepipe.emulator.app import Backend, build_app

PACKAGE = Path(__file__).resolve().parents[2] / "imagepipe"
ARM_SCOPE = "https://management.azure.com/.default"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with start_emulator(tmp_path_factory.mktemp("auth"), speed=5000.0, throttling=False) as em:
        yield em


def token_for(em: Any, scope: str) -> str:
    credential = ClientSecretCredential(
        em.tenant_id,
        em.client_id,
        em.client_secret,
        authority=em.endpoint,
        disable_instance_discovery=True,
        connection_verify=str(em.ca_file),
    )
    return credential.get_token(scope).token


def list_groups(em: Any, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(
        em.url(f"/subscriptions/{em.subscription_id}/resourcegroups?api-version=2022-09-01"),
        headers=headers,
        verify=str(em.ca_file),
        timeout=30,
    )


def error_code(response: requests.Response) -> str:
    return response.json()["error"]["code"]


def test_an_arm_token_is_accepted(emulator: Any) -> None:
    assert list_groups(emulator, f"Bearer {token_for(emulator, ARM_SCOPE)}").status_code == 200


@pytest.mark.parametrize(
    "authorization, code",
    [
        (None, "AuthenticationFailed"),
        ("", "AuthenticationFailed"),
        ("Bearer", "InvalidAuthenticationToken"),
        ("Bearer not-a-token", "InvalidAuthenticationToken"),
        ("Bearer emu.eyJleHAiOiA5OTk5OTk5OTk5fQ.forged", "InvalidAuthenticationToken"),
        ("Basic dXNlcjpwYXNz", "InvalidAuthenticationToken"),
    ],
)
def test_a_missing_or_forged_token_is_refused_with_401(
    emulator: Any, authorization: str | None, code: str
) -> None:
    response = list_groups(emulator, authorization)
    assert response.status_code == 401
    assert error_code(response) == code


def test_a_token_for_another_audience_is_refused(emulator: Any) -> None:
    vault_token = token_for(emulator, "https://vault.azure.net/.default")
    response = list_groups(emulator, f"Bearer {vault_token}")
    assert response.status_code == 401
    assert error_code(response) == "InvalidAuthenticationToken"


def test_an_expired_token_is_refused(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = token_for(emulator, ARM_SCOPE)
    assert list_groups(emulator, f"Bearer {token}").status_code == 200
    # Two hours later for the token check only: the token (valid one hour) has expired.
    later = time.time() + 2 * 3600
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: later))
    response = list_groups(emulator, f"Bearer {token}")
    assert response.status_code == 401
    assert error_code(response) == "InvalidAuthenticationToken"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    return Backend(tmp_path_factory.mktemp("admin"), speed=5000.0, throttling=False)


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "192.168.1.20", "::10", "2001:db8::1", "testclient", "127.example.com"]
)
def test_the_admin_api_refuses_clients_that_are_not_on_loopback(backend: Backend, host: str) -> None:
    with TestClient(build_app(backend), client=(host, 40000)) as client:
        for method, path in (("GET", "stats"), ("POST", "reset"), ("POST", "faults"), ("GET", "journal")):
            response = client.request(method, f"/_emulator/{path}", json=[])
            assert response.status_code == 403, (method, path)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.6.7", "::1", "::ffff:127.0.0.1"])
def test_the_admin_api_answers_loopback_clients(backend: Backend, host: str) -> None:
    with TestClient(build_app(backend), client=(host, 40000)) as client:
        assert client.get("/_emulator/stats").status_code == 200


TLS_OFF = re.compile(
    r"connection_verify\s*=\s*False|verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False"
    r"|_create_unverified_context|PYTHONHTTPSVERIFY|disable_warnings"
)


def test_no_code_path_turns_tls_verification_off() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TLS_OFF.search(line)
    ]
    assert offenders == []


def test_the_tls_check_recognises_what_it_looks_for() -> None:
    for line in ("connection_verify=False", "requests.get(u, verify=False)", "ctx.check_hostname = False"):
        assert TLS_OFF.search(line)
