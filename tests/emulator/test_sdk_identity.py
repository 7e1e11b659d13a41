"""Identity: tokens from the emulator's OIDC endpoints, and ARM refusing calls without one."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential
from azure.mgmt.resource.resources import ResourceManagementClient

from .helpers import API, Arm, Clients, bearer_token, make_credential, unique


def test_a_token_is_issued_for_the_emulators_tenant_only(emulator: Any) -> None:
    token = make_credential(emulator).get_token("https://management.azure.com/.default")
    assert token.token
    assert token.expires_on > 0
    for tenant in ("11111111-2222-3333-4444-555555555555", "contoso.onmicrosoft.com"):
        with pytest.raises(ClientAuthenticationError, match="AADSTS90002"):
            make_credential(emulator, tenant=tenant).get_token("https://management.azure.com/.default")


def test_a_wrong_client_secret_is_refused_by_the_token_endpoint(emulator: Any) -> None:
    credential = make_credential(emulator, secret="not-the-secret")
    with pytest.raises(ClientAuthenticationError):
        credential.get_token("https://management.azure.com/.default")


def test_a_token_works_for_an_arm_call(emulator: Any, clients: Clients) -> None:
    response = Arm(emulator, bearer_token(clients.credential)).request(
        "GET", f"/subscriptions/{emulator.subscription_id}/resourcegroups", api_version=API["resources"]
    )
    assert response.status_code == 200
    assert isinstance(response.json()["value"], list)


@pytest.mark.parametrize("token", [None, "made-up-token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_arm_refuses_calls_without_a_token_it_issued(emulator: Any, token: str | None) -> None:
    response = Arm(emulator, token).request(
        "GET", f"/subscriptions/{emulator.subscription_id}/resourcegroups", api_version=API["resources"]
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] in {
        "AuthenticationFailed",
        "InvalidAuthenticationToken",
        "ExpiredAuthenticationToken",
    }
    assert error["message"]


def test_metadata_endpoints_describe_the_cloud_for_az_cli(emulator: Any) -> None:
    # The az CLI asks with a double slash and without a token.
    for path in ("/metadata/endpoints", "//metadata/endpoints"):
        response = requests.get(
            emulator.endpoint.rstrip("/") + path,
            params={"api-version": "2022-09-01"},
            verify=str(emulator.ca_file),
            timeout=30,
        )
        assert response.status_code == 200, path
        body = response.json()
        # One cloud object, or the newer list form with one entry per cloud.
        cloud = body[0] if isinstance(body, list) else body
        assert {"name", "authentication", "resourceManager", "suffixes"} <= cloud.keys()
        assert cloud["authentication"]["loginEndpoint"]
        assert cloud["authentication"]["audiences"]
        assert cloud["resourceManager"].rstrip("/") == emulator.endpoint.rstrip("/")


def test_oidc_discovery_names_the_token_endpoint(emulator: Any) -> None:
    response = requests.get(
        f"{emulator.endpoint.rstrip('/')}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration",
        verify=str(emulator.ca_file),
        timeout=30,
    )
    assert response.status_code == 200
    body = response.json()
    assert {"authorization_endpoint", "token_endpoint", "issuer"} <= body.keys()
    assert body["token_endpoint"].startswith("https://")


def test_the_subscription_is_listed(emulator: Any, clients: Clients) -> None:
    response = Arm(emulator, bearer_token(clients.credential)).request(
        "GET", "/subscriptions", api_version="2022-12-01"
    )
    assert response.status_code == 200
    subscriptions = response.json()["value"]
    ids = [item["subscriptionId"] for item in subscriptions]
    assert emulator.subscription_id in ids
    ours = subscriptions[ids.index(emulator.subscription_id)]
    assert ours["id"] == f"/subscriptions/{emulator.subscription_id}"
    assert ours["state"] == "Enabled"
    assert ours.get("displayName")


def test_the_export_variables_are_all_a_client_needs(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`eval` the export lines, then DefaultAzureCredential and a client with only base_url work."""
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    env = emulator.env()
    credential = DefaultAzureCredential(disable_instance_discovery=True)
    client = ResourceManagementClient(
        credential,
        env["AZURE_SUBSCRIPTION_ID"],
        base_url=env["IMAGEPIPE_ENDPOINT"],
        credential_scopes=["https://management.azure.com/.default"],
    )
    name = unique("rg")
    client.resource_groups.create_or_update(name, {"location": "eastus"})
    assert client.resource_groups.get(name).name == name
    assert env["REQUESTS_CA_BUNDLE"] == env["IMAGEPIPE_CA_FILE"] == str(emulator.ca_file)
    assert env["AZURE_AUTHORITY_HOST"] == env["IMAGEPIPE_ENDPOINT"]
