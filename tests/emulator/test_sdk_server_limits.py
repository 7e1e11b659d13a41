"""The emulator as a server bounds what clients send as Azure does: request sizes (413), tag
rules (400 InvalidTag), malformed or deeply nested JSON (400, never 500), tokens for its own
tenant only, the admin API judged by the socket's peer, and private state files."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from imagepipe.emulator import start_emulator

from .helpers import API, Arm, Clients, admin, bearer_token, error_code, make_credential, unique

GROUPS = API.get("resources", "2022-09-01")


@pytest.fixture(scope="module")
def arm(emulator: Any, clients: Clients) -> Arm:
    return Arm(emulator, bearer_token(clients.credential))


def group_path(em: Any, name: str) -> str:
    return f"/subscriptions/{em.subscription_id}/resourcegroups/{name}"


def put_group(arm: Arm, em: Any, name: str, body: Any) -> requests.Response:
    return arm.request("PUT", group_path(em, name), body=body, api_version=GROUPS)


def test_a_token_request_larger_than_a_few_kib_is_413(emulator: Any) -> None:
    form = {"grant_type": "client_credentials", "client_id": emulator.client_id, "pad": "x" * 64 * 1024}
    response = requests.post(
        emulator.url(f"/{emulator.tenant_id}/oauth2/v2.0/token"),
        data=form,
        verify=str(emulator.ca_file),
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"


def test_an_arm_body_over_4_mib_is_413_and_nothing_is_stored(
    emulator: Any, arm: Arm, clients: Clients
) -> None:
    name = unique("rg-big")
    body = {"location": "eastus", "properties": {"padding": "x" * (4 * 1024 * 1024 + 1)}}
    response = put_group(arm, emulator, name, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"
    assert not clients.resource.resource_groups.check_existence(name)


@pytest.mark.parametrize(
    "tags",
    [
        {f"k{i}": "v" for i in range(51)},
        {"n" * 513: "v"},
        {"k": "v" * 257},
    ],
    ids=["51-tags", "name-513", "value-257"],
)
def test_azure_tag_limits_are_enforced_through_the_sdk(clients: Clients, tags: dict[str, str]) -> None:
    name = unique("rg-tags")
    with pytest.raises(HttpResponseError) as caught:
        clients.resource.resource_groups.create_or_update(name, {"location": "eastus", "tags": tags})
    assert caught.value.status_code == 400
    assert error_code(caught.value) == "InvalidTag"
    assert not clients.resource.resource_groups.check_existence(name)


def test_the_tag_limits_themselves_are_accepted(clients: Clients) -> None:
    name = unique("rg-tags")
    tags = {f"{i:03d}" + "n" * 509: "v" * 256 for i in range(50)}
    group = clients.resource.resource_groups.create_or_update(name, {"location": "eastus", "tags": tags})
    assert group.tags == tags


@pytest.mark.parametrize("value", [7, None, {"nested": "x"}, ["a"]], ids=["int", "null", "object", "list"])
def test_a_tag_value_that_is_not_a_string_is_400(emulator: Any, arm: Arm, value: Any) -> None:
    response = put_group(arm, emulator, unique("rg-tags"), {"location": "eastus", "tags": {"k": value}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidTag"


def test_tags_of_a_patch_are_checked_too(emulator: Any, arm: Arm, clients: Clients) -> None:
    name = unique("rg-tags")
    clients.resource.resource_groups.create_or_update(name, {"location": "eastus"})
    response = arm.request(
        "PATCH", group_path(emulator, name), body={"tags": {"k": "v" * 300}}, api_version=GROUPS
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidTag"
    assert clients.resource.resource_groups.get(name).tags in (None, {})


@pytest.mark.parametrize(
    "raw",
    [b"[" * 200_000, b'{"location": "eastus", "properties": ' + b"[" * 500 + b"]" * 500 + b"}", b"{not json"],
    ids=["deep-unparseable", "deep-parseable", "malformed"],
)
def test_malformed_or_deeply_nested_json_is_400_not_500(emulator: Any, arm: Arm, raw: bytes) -> None:
    response = arm.session.put(
        arm.url(group_path(emulator, unique("rg-json"))),
        params={"api-version": GROUPS},
        data=raw,
        headers={"Content-Type": "application/json"},
        verify=arm.verify,
        timeout=60,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequestContent"


def test_tokens_are_issued_for_the_emulators_own_tenant_only(emulator: Any) -> None:
    other = "11111111-1111-4111-8111-111111111111"
    response = requests.post(
        emulator.url(f"/{other}/oauth2/v2.0/token"),
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "scope": "https://management.azure.com/.default",
        },
        verify=str(emulator.ca_file),
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "AADSTS90002" in response.json()["error_description"]
    with pytest.raises(ClientAuthenticationError):
        bearer_token(make_credential(emulator, tenant=other))


def test_the_admin_api_ignores_x_forwarded_for(emulator: Any) -> None:
    """Judged by the socket's peer (loopback here), whatever a forwarding header claims."""
    response = requests.get(
        emulator.url("/_emulator/stats"),
        headers={"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9"},
        verify=str(emulator.ca_file),
        timeout=30,
    )
    assert response.status_code == 200


def test_an_admin_body_over_the_limit_is_413(emulator: Any) -> None:
    response = admin(emulator, "POST", "faults", {"padding": "x" * (4 * 1024 * 1024 + 1)})
    assert response.status_code == 413


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_state_files_are_private(tmp_path: Path) -> None:
    with start_emulator(tmp_path / "fresh" / "state", speed=5000.0, throttling=False) as em:
        admin(em, "POST", "requestlog", {"enabled": True})
        admin(em, "GET", "stats")
        admin(em, "POST", "requestlog", {"enabled": False})
        state = Path(em.state_dir)
        assert _mode(state) == 0o700
        for name in (
            "emulator.sqlite",
            "ca.pem",
            "server.pem",
            "token.key",
            "emulator.lock",
            "requests.jsonl",
        ):
            assert _mode(state / name) == 0o600, name
