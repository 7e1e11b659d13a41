"""ARM's generic contracts: api-versions, polling delays, tracing headers, ETags, paging, the 401 challenge.

Through the real SDK where it can express the request, raw HTTPS where it cannot (a
missing api-version, headers the SDK hides).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from .helpers import (
    API,
    UBUNTU_2204,
    Arm,
    Clients,
    bearer_token,
    client_options,
    create_nic,
    create_resource_group,
    create_vm,
    error_code,
    image_from_blob,
    linux_os_profile,
    make_credential,
    set_clock,
    unique,
    vm_body,
)
from .test_deployments import deploy, template_body
from .test_sdk_gallery import scale_set_body
from .test_sdk_lro import rg_path

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- api-version ---------------------------------------------------------------------------------


def test_a_request_without_api_version_is_refused(emulator: Any, clients: Clients, rg: str) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    answer = arm.request("GET", f"{rg_path(clients, rg)}/providers/Microsoft.Compute/disks", api_version=None)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("version", ["2099-01-01", "not-a-version"])
def test_an_unknown_api_version_is_refused_per_provider(
    emulator: Any, clients: Clients, rg: str, version: str
) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    disks = arm.request(
        "GET", f"{rg_path(clients, rg)}/providers/Microsoft.Compute/disks", api_version=version
    )
    assert disks.status_code == 400
    error = disks.json()["error"]
    assert error["code"] == "NoRegisteredProviderFound"
    assert API["disks"] in error["message"]  # the message lists the versions the type supports
    groups = arm.request(
        "GET", f"/subscriptions/{clients.subscription_id}/resourcegroups", api_version=version
    )
    assert groups.status_code == 400
    assert groups.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_each_type_accepts_its_own_versions(emulator: Any, clients: Clients, rg: str) -> None:
    """The Compute API's version is not the disk API's: ARM routes by type and version."""
    arm = Arm(emulator, bearer_token(clients.credential))
    disks = f"{rg_path(clients, rg)}/providers/Microsoft.Compute/disks"
    assert arm.request("GET", disks, api_version=API["disks"]).status_code == 200
    assert arm.request("GET", disks, api_version=API["compute"]).status_code == 400
    provider = clients.resource.providers.get("Microsoft.Compute")
    versions = {t.resource_type: t.api_versions for t in provider.resource_types}
    assert API["compute"] in versions["virtualMachines"]
    assert API["disks"] in versions["disks"] and API["compute"] not in versions["disks"]
    assert API["gallery"] in versions["galleries"]


def test_a_template_resource_with_an_unknown_api_version_is_refused(
    emulator: Any, clients: Clients, rg: str
) -> None:
    deployments = DeploymentsMgmtClient(
        make_credential(emulator), emulator.subscription_id, **client_options(emulator)
    )
    vnet = {
        "type": "Microsoft.Network/virtualNetworks",
        "name": "net",
        "apiVersion": "2099-01-01",
        "location": "eastus",
        "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}},
    }
    body = template_body([vnet])
    with pytest.raises(HttpResponseError) as refused:
        deployments.deployments.begin_create_or_update(rg, "bad-version", body)
    assert refused.value.status_code == 400
    assert error_code(refused.value) == "NoRegisteredProviderFound"
    deploy(deployments, rg, template_body([{**vnet, "apiVersion": "2015-06-15"}]))  # az's own version
    assert [n.name for n in clients.network.virtual_networks.list(rg)] == ["net"]


def test_identity_and_admin_endpoints_need_no_api_version(emulator: Any) -> None:
    base = emulator.endpoint.rstrip("/")
    assert requests.get(f"{base}/metadata/endpoints", verify=str(emulator.ca_file), timeout=10).ok
    assert requests.get(f"{base}/_emulator/clock", verify=str(emulator.ca_file), timeout=10).ok


# -- polling delays --------------------------------------------------------------------------------


def test_polls_advise_whole_seconds_and_the_scaled_delay_in_ms(
    emulator: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    nic = create_nic(clients, rg, "nic", subnet_id)
    set_clock(emulator, paused=True)
    try:
        vm = f"{rg_path(clients, rg)}/providers/Microsoft.Compute/virtualMachines/vm"
        created = arm.request("PUT", vm, body=vm_body("vm", nic, UBUNTU_2204))
        assert created.status_code == 201, created.text
        expected_ms = max(10, round(10_000 / emulator.speed))  # ~10 simulated seconds
        status = arm.request("GET", created.headers["Azure-AsyncOperation"], api_version=None)
        assert status.headers["Retry-After"] == "1"
        assert int(status.headers["retry-after-ms"]) == expected_ms
        set_clock(emulator, advance=120)
        deleted = arm.request("DELETE", vm)
        location = arm.request("GET", deleted.headers["Location"], api_version=None)
        assert location.status_code == 202
        assert location.headers["Retry-After"] == "1"
        assert int(location.headers["retry-after-ms"]) == expected_ms
        group_delete = arm.request("DELETE", rg_path(clients, rg), api_version=API["resources"])
        poll = arm.request("GET", group_delete.headers["Location"], api_version=None)
        assert poll.status_code == 202
        assert poll.headers["Retry-After"] == "1" and int(poll.headers["retry-after-ms"]) >= 1
    finally:
        set_clock(emulator, paused=False)


# -- tracing headers -------------------------------------------------------------------------------


def test_tracing_headers_are_arms(emulator: Any, clients: Clients) -> None:
    arm = Arm(emulator, bearer_token(clients.credential))
    path = f"/subscriptions/{clients.subscription_id}/resourcegroups"
    correlation, client_id = str(uuid.uuid4()), str(uuid.uuid4())
    asked = arm.session.get(
        arm.url(path),
        params={"api-version": API["resources"]},
        headers={
            "x-ms-correlation-request-id": correlation,
            "x-ms-client-request-id": client_id,
            "x-ms-return-client-request-id": "true",
        },
        verify=arm.verify,
        timeout=30,
    )
    assert asked.headers["x-ms-correlation-request-id"] == correlation
    assert asked.headers["x-ms-client-request-id"] == client_id
    assert GUID.match(asked.headers["x-ms-request-id"])
    plain = arm.session.get(
        arm.url(path),
        params={"api-version": API["resources"]},
        headers={"x-ms-client-request-id": client_id},
        verify=arm.verify,
        timeout=30,
    )
    # Without a correlation id ARM makes its own (never the client's request id), and echoes
    # the client request id only when asked to.
    assert GUID.match(plain.headers["x-ms-correlation-request-id"])
    assert plain.headers["x-ms-correlation-request-id"] != client_id
    assert "x-ms-client-request-id" not in plain.headers


# -- the 401 challenge -----------------------------------------------------------------------------


def test_a_401_carries_the_bearer_challenge(emulator: Any, clients: Clients) -> None:
    path = f"/subscriptions/{clients.subscription_id}/resourcegroups"
    for token in (None, "not-a-token"):
        answer = Arm(emulator, token).request("GET", path, api_version=API["resources"])
        assert answer.status_code == 401
        challenge = answer.headers["WWW-Authenticate"]
        assert re.match(
            r'^Bearer authorization_uri="https://[^"]+/[0-9a-f-]{36}", error="invalid_token"', challenge
        )
        assert 'error_description="' in challenge


def test_the_sdk_reports_a_refused_token(emulator: Any, clients: Clients) -> None:
    class Stale:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("stale", 2**31)

    client = ResourceManagementClient(Stale(), clients.subscription_id, **client_options(emulator))  # type: ignore[arg-type]
    with pytest.raises(ClientAuthenticationError) as raised:
        list(client.resource_groups.list())
    assert raised.value.status_code == 401


# -- ETags -----------------------------------------------------------------------------------------


def test_etag_only_where_the_swagger_has_it_and_then_as_a_header(
    emulator: Any, clients: Clients, rg: str, subnet_id: str
) -> None:
    vm = create_vm(clients, rg, "vm", subnet_id)
    assert vm.etag  # VirtualMachine has etag (2023-07-01 on)
    disk = clients.compute.disks.get(rg, "vm-osdisk")
    assert "etag" not in disk.as_dict()
    arm = Arm(emulator, bearer_token(clients.credential))
    vm_answer = arm.request("GET", vm.id)
    assert vm_answer.headers["ETag"] == vm_answer.json()["etag"] == vm.etag
    disk_answer = arm.request("GET", disk.id)
    assert "etag" not in disk_answer.json() and "ETag" not in disk_answer.headers
    image = image_from_blob(clients, rg, "img", "eastus")
    image_answer = arm.request("GET", image.id)
    assert "etag" not in image_answer.json() and "ETag" not in image_answer.headers


# -- relative ids ----------------------------------------------------------------------------------


def test_ids_without_a_leading_slash_are_resolved(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    source = clients.compute.disks.get(rg, "vm-osdisk").id
    body = {
        "location": "eastus",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source.lstrip("/")}},
    }
    snapshot = clients.compute.snapshots.begin_create_or_update(rg, "snap", body).result()
    assert snapshot.provisioning_state == "Succeeded"
    assert snapshot.creation_data.source_resource_id.lower() == source.lower()


# -- $top paging -----------------------------------------------------------------------------------


def test_top_pages_the_group_and_resource_lists_and_the_sdk_follows(
    emulator: Any, clients: Clients, subnet_id: str, rg: str
) -> None:
    names = {create_resource_group(clients, unique("page")) for _ in range(3)}
    everything = {g.name for g in clients.resource.resource_groups.list()}
    paged = clients.resource.resource_groups.list(top=2)
    pages = [[g.name for g in page] for page in paged.by_page()]
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 2
    assert {n for page in pages for n in page} == everything and names <= everything

    arm = Arm(emulator, bearer_token(clients.credential))
    first = arm.request(
        "GET",
        f"/subscriptions/{clients.subscription_id}/resourcegroups",
        api_version=API["resources"],
        params={"$top": "1"},
    ).json()
    assert len(first["value"]) == 1 and "$skiptoken=" in first["nextLink"]

    for name in ("nic-a", "nic-b"):
        create_nic(clients, rg, name, subnet_id)
    in_group = [r.name for r in clients.resource.resources.list_by_resource_group(rg)]
    assert len(in_group) == 3  # the network and two NICs
    paged_in_group = clients.resource.resources.list_by_resource_group(rg, top=1)
    assert [r.name for r in paged_in_group] == in_group
    assert {r.name for r in clients.resource.resources.list(top=2)} >= set(in_group)


# -- defaults Azure fills in -----------------------------------------------------------------------


def test_linux_vm_gets_azures_os_configuration_and_instance_view(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    profile = linux_os_profile("vm")
    del profile["linuxConfiguration"]["disablePasswordAuthentication"]  # left to Azure
    vm = create_vm(clients, rg, "vm", subnet_id, os_profile=profile)
    linux = vm.os_profile.linux_configuration
    assert linux.disable_password_authentication is True  # SSH keys only: no password to allow
    assert linux.provision_vm_agent is True
    assert linux.patch_settings.patch_mode == "ImageDefault"
    assert linux.patch_settings.assessment_mode == "ImageDefault"
    view = clients.compute.virtual_machines.instance_view(rg, "vm")
    assert (view.os_name, view.os_version) == ("ubuntu", "22.04")
    assert all(s.time is not None for s in view.statuses if s.code.startswith("ProvisioningState/"))
    assert all(s.time is not None for d in view.disks for s in d.statuses)


def test_scale_set_gets_placement_and_nic_defaults(clients: Clients, rg: str, subnet_id: str) -> None:
    image = image_from_blob(clients, rg, "img", "eastus")
    body = scale_set_body(image.id, subnet_id, 1)
    vmss = clients.compute.virtual_machine_scale_sets.begin_create_or_update(rg, "ss", body).result()
    assert vmss.single_placement_group is True
    nic = vmss.virtual_machine_profile.network_profile.network_interface_configurations[0]
    assert nic.primary is True
    assert nic.enable_accelerated_networking is False
    assert nic.enable_ip_forwarding is False
    assert nic.dns_settings.dns_servers == []
    assert nic.ip_configurations[0].private_ip_address_version == "IPv4"
    assert vmss.virtual_machine_profile.os_profile.linux_configuration.provision_vm_agent is True
    view = clients.compute.virtual_machine_scale_sets.get_instance_view(rg, "ss")
    assert [(s.code, s.time is not None) for s in view.statuses] == [("ProvisioningState/succeeded", True)]
