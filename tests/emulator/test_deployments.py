"""Template deployments (what `az vm create` submits), driven through the real deployments SDK client.

The templates under fixtures/ are the request bodies az 2.91 sent for `az vm create`
(Linux with an SSH key, Windows with a password parameter, `--count 2`), captured from
its --debug output; only the resource group name is substituted per test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.deployments import DeploymentsMgmtClient

from .helpers import (
    Arm,
    Clients,
    bearer_token,
    captured_image,
    client_options,
    create_resource_group,
    error_code,
    make_clients,
    make_credential,
    unique,
)

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_GROUP = "/resourceGroups/rg1/"
# Test-only secret: it protects nothing outside the emulator.
WINDOWS_PASSWORD = "Fixture!Passw0rd#42"


def az_body(fixture: str, rg: str) -> dict[str, Any]:
    """A deployment body az sent, pointed at resource group `rg`."""
    text = (FIXTURES / f"{fixture}.json").read_text()
    return json.loads(text.replace(FIXTURE_GROUP, f"/resourceGroups/{rg}/"))


def template_body(resources: list[dict], **extra: Any) -> dict[str, Any]:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
        **extra.pop("template", {}),
    }
    return {"properties": {"template": template, "mode": "Incremental", **extra}}


@pytest.fixture(scope="module")
def deployments(emulator: Any) -> DeploymentsMgmtClient:
    return DeploymentsMgmtClient(
        make_credential(emulator), emulator.subscription_id, **client_options(emulator)
    )


def deploy(deployments: DeploymentsMgmtClient, rg: str, body: dict[str, Any], name: str | None = None) -> Any:
    return deployments.deployments.begin_create_or_update(rg, name or unique("deploy"), body).result()


def operations(deployments: DeploymentsMgmtClient, rg: str, name: str) -> dict[str, Any]:
    """The deployment's operations by target resource name."""
    return {
        op.properties.target_resource.resource_name: op.properties
        for op in deployments.deployment_operations.list(rg, name)
    }


def test_az_linux_vm_template_creates_the_vm_and_its_network(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str
) -> None:
    result = deploy(deployments, rg, az_body("az_vm_create_linux", rg), "vm_deploy_linux")

    assert result.properties.provisioning_state == "Succeeded"
    created = {r.id.rsplit("/", 1)[-1] for r in result.properties.output_resources}
    assert created == {"vm1VNET", "vm1NSG", "vm1PublicIP", "vm1VMNic", "vm1"}
    vm = clients.compute.virtual_machines.get(rg, "vm1", expand="instanceView")
    assert vm.provisioning_state == "Succeeded"
    assert "PowerState/running" in [s.code for s in vm.instance_view.statuses]
    assert vm.storage_profile.image_reference.sku == "22_04-lts-gen2"
    nic = clients.network.network_interfaces.get(rg, "vm1VMNic")
    assert nic.virtual_machine.id.lower() == vm.id.lower()
    assert nic.network_security_group.id.endswith("/vm1NSG")
    public_ip = clients.network.public_ip_addresses.get(rg, "vm1PublicIP")
    assert public_ip.ip_address and public_ip.sku.name == "Standard"
    nsg = clients.network.network_security_groups.get(rg, "vm1NSG")
    assert [r.name for r in nsg.security_rules] == ["default-allow-ssh"]

    ops = operations(deployments, rg, "vm_deploy_linux")
    assert set(ops) == created
    assert {p.provisioning_state for p in ops.values()} == {"Succeeded"}
    assert ops["vm1"].target_resource.resource_type == "Microsoft.Compute/virtualMachines"


def test_resources_start_after_what_they_depend_on(
    deployments: DeploymentsMgmtClient, emulator: Any, rg: str
) -> None:
    deploy(deployments, rg, az_body("az_vm_create_linux", rg), "ordered")

    journal = Arm(emulator, None).request("GET", "/_emulator/journal", api_version=None).json()["value"]
    mine = {
        e["resourceId"].rsplit("/", 1)[-1]: e for e in journal if f"/resourceGroups/{rg}/" in e["resourceId"]
    }
    for first, then in (("vm1VNET", "vm1VMNic"), ("vm1PublicIP", "vm1VMNic"), ("vm1VMNic", "vm1")):
        assert mine[first]["endTime"] <= mine[then]["startTime"], (first, then)


def test_a_secure_password_parameter_is_never_shown_or_stored(
    deployments: DeploymentsMgmtClient, clients: Clients, emulator: Any, rg: str
) -> None:
    body = az_body("az_vm_create_windows", rg)
    body["properties"]["parameters"] = {"adminPassword": {"value": WINDOWS_PASSWORD}}

    result = deploy(deployments, rg, body, "vm_deploy_windows")

    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.parameters == {"adminPassword": {"type": "SecureString"}}
    vm = clients.compute.virtual_machines.get(rg, "winvm")
    assert vm.storage_profile.os_disk.os_type == "Windows"
    arm = Arm(emulator, bearer_token(clients.credential))
    base = f"/subscriptions/{emulator.subscription_id}/resourceGroups/{rg}"
    for path in (
        f"{base}/providers/Microsoft.Resources/deployments/vm_deploy_windows",
        f"{base}/providers/Microsoft.Resources/deployments/vm_deploy_windows/operations",
        f"{base}/providers/Microsoft.Compute/virtualMachines/winvm",
    ):
        assert WINDOWS_PASSWORD not in arm.request("GET", path).text
    for stored in Path(emulator.state_dir).glob("emulator.sqlite*"):
        assert WINDOWS_PASSWORD.encode() not in stored.read_bytes()


def test_copy_loops_create_every_instance(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str
) -> None:
    deploy(deployments, rg, az_body("az_vm_create_count", rg))

    vms = sorted(vm.name for vm in clients.compute.virtual_machines.list(rg))
    assert vms == ["web0", "web1"]
    for index in (0, 1):
        nic = clients.network.network_interfaces.get(rg, f"webVMNic{index}")
        assert nic.virtual_machine.id.endswith(f"/web{index}")
        assert nic.ip_configurations[0].public_ip_address.id.endswith(f"/webPublicIP{index}")


def test_a_resource_refused_fails_the_deployment_and_its_dependents_never_start(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str
) -> None:
    body = az_body("az_vm_create_linux", rg)
    vm = body["properties"]["template"]["resources"][-1]
    vm["properties"]["storageProfile"]["imageReference"]["sku"] = "no-such-sku"

    with pytest.raises(HttpResponseError) as failure:
        deploy(deployments, rg, body, "bad_image")

    assert error_code(failure.value) == "DeploymentFailed"
    assert "PlatformImageNotFound" in str(failure.value)
    shown = deployments.deployments.get(rg, "bad_image")
    assert shown.properties.provisioning_state == "Failed"
    ops = operations(deployments, rg, "bad_image")
    assert ops["vm1"].provisioning_state == "Failed"
    assert ops["vm1"].status_code == "NotFound"
    assert ops["vm1VMNic"].provisioning_state == "Succeeded"  # what was made before stays
    with pytest.raises(ResourceNotFoundError):
        clients.compute.virtual_machines.get(rg, "vm1")


def test_a_resource_whose_operation_fails_fails_the_deployment(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str, subnet_id: str
) -> None:
    image = captured_image(clients, rg, subnet_id, "not-deprovisioned", deprovision=False)
    body = az_body("az_vm_create_linux", rg)
    vm = body["properties"]["template"]["resources"][-1]
    vm["properties"]["storageProfile"]["imageReference"] = {"id": image.id}

    with pytest.raises(HttpResponseError) as failure:
        deploy(deployments, rg, body, "timed_out")

    assert error_code(failure.value) == "DeploymentFailed"
    assert "OSProvisioningTimedOut" in str(failure.value)
    ops = operations(deployments, rg, "timed_out")
    assert ops["vm1"].provisioning_state == "Failed"
    assert ops["vm1"].status_message["error"]["code"] == "OSProvisioningTimedOut"


def test_deploying_again_updates_in_place(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str
) -> None:
    body = az_body("az_vm_create_linux", rg)
    deploy(deployments, rg, body, "again")
    vm_id = clients.compute.virtual_machines.get(rg, "vm1").vm_id

    result = deploy(deployments, rg, body, "again")

    assert result.properties.provisioning_state == "Succeeded"
    assert clients.compute.virtual_machines.get(rg, "vm1").vm_id == vm_id
    assert [d.name for d in deployments.deployments.list_by_resource_group(rg)] == ["again"]
    assert {p.provisioning_operation for p in operations(deployments, rg, "again").values()} == {"Update"}


def test_validate_lists_the_resources_without_creating_them(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str
) -> None:
    result = deployments.deployments.begin_validate(rg, "check", az_body("az_vm_create_linux", rg)).result()

    validated = {r.id.rsplit("/", 1)[-1] for r in result.properties.validated_resources}
    assert validated == {"vm1VNET", "vm1NSG", "vm1PublicIP", "vm1VMNic", "vm1"}
    assert list(clients.compute.virtual_machines.list(rg)) == []
    with pytest.raises(ResourceNotFoundError):
        deployments.deployments.get(rg, "check")


_VNET = {
    "type": "Microsoft.Network/virtualNetworks",
    "name": "net",
    "apiVersion": "2024-05-01",
    "location": "eastus",
    "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}},
}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            template_body([{**_VNET, "properties": "[reference('other').properties]"}]),
            "template function 'reference' is not supported",
        ),
        (template_body([{**_VNET, "dependsOn": ["Microsoft.Network/virtualNetworks/ghost"]}]), "not defined"),
        (
            template_body(
                [
                    {**_VNET, "name": "a", "dependsOn": ["b"]},
                    {**_VNET, "name": "b", "dependsOn": ["a"]},
                ]
            ),
            "Circular dependency",
        ),
        (
            template_body([{**_VNET, "resources": [{"type": "subnets", "name": "s"}]}]),
            "Nested child resources",
        ),
        (
            template_body(
                [{**_VNET, "name": "[parameters('vnetName')]"}],
                template={"parameters": {"vnetName": {"type": "string"}}},
            ),
            "not provided",
        ),
        (template_body([_VNET], parameters={"extra": {"value": 1}}), "not present in the original template"),
        (
            template_body(
                [
                    {
                        "type": "Microsoft.Storage/storageAccounts",
                        "name": "diag",
                        "apiVersion": "2023-01-01",
                        "location": "eastus",
                    }
                ]
            ),
            "not supported by the emulator",
        ),
        (
            {
                "properties": {
                    "templateLink": {"uri": "https://example.invalid/t.json"},
                    "mode": "Incremental",
                }
            },
            "Linked templates",
        ),
        (template_body([_VNET], mode="Complete"), "Deployment mode 'Complete'"),
    ],
    ids=[
        "reference",
        "missing-dependency",
        "cycle",
        "nested",
        "missing-parameter",
        "unknown-parameter",
        "unsupported-type",
        "template-link",
        "complete-mode",
    ],
)
def test_what_the_evaluator_does_not_support_is_refused_as_invalid_template(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str, body: dict[str, Any], says: str
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        deployments.deployments.begin_create_or_update(rg, "refused", body)

    assert refused.value.status_code == 400
    assert error_code(refused.value) == "InvalidTemplate"
    assert says in refused.value.error.message
    with pytest.raises(ResourceNotFoundError):
        deployments.deployments.get(rg, "refused")
    assert list(clients.network.virtual_networks.list(rg)) == []


def test_expressions_parameters_and_outputs(
    deployments: DeploymentsMgmtClient, clients: Clients, rg: str
) -> None:
    body = template_body(
        [
            {
                **_VNET,
                "name": "[variables('vnetName')]",
                "location": "[resourceGroup().location]",
                "properties": {
                    "addressSpace": {"addressPrefixes": ["[parameters('prefix')]"]},
                    "subnets": [
                        {
                            "name": "[concat('sub', copyIndex('nets', 1))]",
                            "properties": {"addressPrefix": "10.2.0.0/24"},
                        }
                    ],
                },
                "copy": {"name": "nets", "count": 1},
            },
        ],
        template={
            "parameters": {
                "prefix": {"type": "string", "defaultValue": "10.2.0.0/16"},
                "stem": {"type": "string", "allowedValues": ["net", "lan"]},
            },
            "variables": {"vnetName": "[concat(parameters('stem'), '-main')]"},
            "outputs": {
                "vnetId": {
                    "type": "string",
                    "value": "[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]",
                },
                "literal": {"type": "string", "value": "[[not an expression]"},
            },
        },
        parameters={"stem": {"value": "lan"}},
    )

    result = deploy(deployments, rg, body)

    vnet = clients.network.virtual_networks.get(rg, "lan-main")
    assert vnet.address_space.address_prefixes == ["10.2.0.0/16"]
    assert [s.name for s in vnet.subnets] == ["sub1"]
    assert result.properties.outputs["vnetId"]["value"].lower() == vnet.id.lower()
    assert result.properties.outputs["literal"]["value"] == "[not an expression]"
    assert result.properties.parameters["stem"] == {"type": "String", "value": "lan"}


def test_a_running_deployment_shows_running_and_cannot_be_replaced(start_other: Any) -> None:
    em = start_other(speed=1.0)  # real time: the VM create takes a simulated minute
    clients = make_clients(em)
    client = DeploymentsMgmtClient(make_credential(em), em.subscription_id, **client_options(em))
    rg = create_resource_group(clients, unique("rg"))
    body = az_body("az_vm_create_linux", rg)
    client.deployments.begin_create_or_update(rg, "slow", body, polling=False)

    shown = client.deployments.get(rg, "slow")
    assert shown.properties.provisioning_state == "Running"
    assert "Running" in {p.provisioning_state for p in operations(client, rg, "slow").values()}
    with pytest.raises(HttpResponseError) as busy:
        client.deployments.begin_create_or_update(rg, "slow", body, polling=False)
    assert busy.value.status_code == 409
    assert error_code(busy.value) == "DeploymentActive"
    with pytest.raises(HttpResponseError) as not_now:
        client.deployments.begin_delete(rg, "slow", polling=False)
    assert not_now.value.status_code == 409


def test_the_short_deployments_path_az_uses_for_operations(
    deployments: DeploymentsMgmtClient, clients: Clients, emulator: Any, rg: str
) -> None:
    deploy(deployments, rg, az_body("az_vm_create_linux", rg), "short")
    arm = Arm(emulator, bearer_token(clients.credential))

    answer = arm.request(
        "GET",
        f"/subscriptions/{emulator.subscription_id}/resourcegroups/{rg}/deployments/short/operations",
        api_version="2024-11-01",
    )

    assert answer.status_code == 200
    assert len(answer.json()["value"]) == 5
