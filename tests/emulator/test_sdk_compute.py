"""Resource groups, networks, NICs and virtual machines through the real SDK clients."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .helpers import (
    DEPROVISION_LINUX,
    Clients,
    create_nic,
    create_resource_group,
    create_subnet,
    create_vm,
    power_state,
    run_script,
    statuses,
    unique,
)


def test_resource_group_create_get_list(clients: Clients) -> None:
    name = unique("rg")
    created = clients.resource.resource_groups.create_or_update(
        name, {"location": "westus", "tags": {"a": "b"}}
    )
    assert created.name == name
    assert created.location == "westus"
    assert created.id.lower() == f"/subscriptions/{clients.subscription_id}/resourcegroups/{name}".lower()
    assert created.properties.provisioning_state == "Succeeded"
    fetched = clients.resource.resource_groups.get(name)
    assert fetched.tags == {"a": "b"}
    assert name in [group.name for group in clients.resource.resource_groups.list()]
    assert clients.resource.resource_groups.check_existence(name) is True


def test_resource_group_delete_cascades_as_an_lro(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "doomed", subnet_id)
    clients.resource.resource_groups.begin_delete(rg).result()
    with pytest.raises(ResourceNotFoundError):
        clients.resource.resource_groups.get(rg)
    with pytest.raises(ResourceNotFoundError):
        clients.compute.virtual_machines.get(rg, "doomed")
    with pytest.raises(ResourceNotFoundError):
        clients.network.network_interfaces.get(rg, "doomed-nic")
    assert "doomed" not in [vm.name for vm in clients.compute.virtual_machines.list_all()]


def test_virtual_network_with_subnets(clients: Clients, rg: str) -> None:
    body = {
        "location": "eastus",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [
                {"name": "front", "properties": {"addressPrefix": "10.1.1.0/24"}},
                {"name": "back", "properties": {"addressPrefix": "10.1.2.0/24"}},
            ],
        },
    }
    vnet = clients.network.virtual_networks.begin_create_or_update(rg, "net", body).result()
    assert vnet.properties.provisioning_state == "Succeeded"
    assert sorted(subnet.name for subnet in vnet.properties.subnets) == ["back", "front"]
    subnet = clients.network.subnets.get(rg, "net", "front")
    assert subnet.properties.address_prefix == "10.1.1.0/24"
    assert subnet.id.endswith("/virtualNetworks/net/subnets/front")
    assert [v.name for v in clients.network.virtual_networks.list(rg)] == ["net"]


def test_network_interface_in_a_subnet(clients: Clients, rg: str, subnet_id: str) -> None:
    nic_id = create_nic(clients, rg, "nic1", subnet_id)
    nic = clients.network.network_interfaces.get(rg, "nic1")
    assert nic.id == nic_id
    assert nic.type == "Microsoft.Network/networkInterfaces"
    assert nic.properties.provisioning_state == "Succeeded"
    config = nic.properties.ip_configurations[0]
    assert config.properties.subnet.id.lower() == subnet_id.lower()
    assert config.properties.private_ip_address


def test_vm_from_a_marketplace_urn(clients: Clients, rg: str, subnet_id: str) -> None:
    vm = create_vm(clients, rg, "web", subnet_id, data_disk_sizes=[16, 32])
    assert vm.name == "web"
    assert vm.type == "Microsoft.Compute/virtualMachines"
    assert vm.location == "eastus"
    assert vm.properties.provisioning_state == "Succeeded"
    assert vm.properties.vm_id
    storage = vm.properties.storage_profile
    assert storage.os_disk.os_type == "Linux"
    assert storage.os_disk.managed_disk.id.lower().endswith("/disks/web-osdisk")
    # "latest" resolves to a concrete version.
    assert storage.image_reference.exact_version not in (None, "", "latest")
    assert [disk.lun for disk in storage.data_disks] == [0, 1]
    assert "adminPassword" not in str(vm.as_dict())

    os_disk = clients.compute.disks.get(rg, "web-osdisk")
    assert os_disk.managed_by.lower().endswith("/virtualmachines/web")
    assert os_disk.properties.disk_state == "Attached"
    assert clients.compute.disks.get(rg, "web-data1").properties.disk_size_gb == 32


def test_vm_instance_view(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    expanded = clients.compute.virtual_machines.get(rg, "vm", expand="instanceView")
    assert "ProvisioningState/succeeded" in statuses(expanded.properties.instance_view)
    assert "PowerState/running" in statuses(expanded.properties.instance_view)
    view = clients.compute.virtual_machines.instance_view(rg, "vm")
    assert "PowerState/running" in statuses(view)
    plain = clients.compute.virtual_machines.get(rg, "vm")
    assert plain.properties.instance_view is None


def test_vm_lists_per_resource_group_and_subscription(clients: Clients, subnet_id: str, rg: str) -> None:
    create_vm(clients, rg, "a", subnet_id)
    create_vm(clients, rg, "b", subnet_id)
    assert sorted(vm.name for vm in clients.compute.virtual_machines.list(rg)) == ["a", "b"]
    everywhere = {vm.id.lower() for vm in clients.compute.virtual_machines.list_all()}
    assert {vm.id.lower() for vm in clients.compute.virtual_machines.list(rg)} <= everywhere


def test_power_off_start_restart_deallocate(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    vms = clients.compute.virtual_machines
    vms.begin_power_off(rg, "vm").result()
    assert power_state(clients, rg, "vm") == "PowerState/stopped"
    vms.begin_start(rg, "vm").result()
    assert power_state(clients, rg, "vm") == "PowerState/running"
    vms.begin_restart(rg, "vm").result()
    assert power_state(clients, rg, "vm") == "PowerState/running"
    vms.begin_deallocate(rg, "vm").result()
    assert power_state(clients, rg, "vm") == "PowerState/deallocated"
    vms.begin_start(rg, "vm").result()
    assert power_state(clients, rg, "vm") == "PowerState/running"


def test_generalize_after_deallocate_marks_the_vm_generalized(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    run_script(clients, rg, "vm", [DEPROVISION_LINUX])
    clients.compute.virtual_machines.begin_deallocate(rg, "vm").result()
    clients.compute.virtual_machines.generalize(rg, "vm")
    assert "OSState/generalized" in statuses(clients.compute.virtual_machines.instance_view(rg, "vm"))


def test_vm_delete_leaves_its_nic_and_frees_the_disk(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    clients.compute.virtual_machines.begin_delete(rg, "vm").result()
    with pytest.raises(ResourceNotFoundError):
        clients.compute.virtual_machines.get(rg, "vm")
    assert clients.network.network_interfaces.get(rg, "vm-nic").name == "vm-nic"
    disk = clients.compute.disks.get(rg, "vm-osdisk")
    assert disk.properties.disk_state == "Unattached"
    assert not disk.managed_by
    # Now the NIC is free, it can go.
    clients.network.network_interfaces.begin_delete(rg, "vm-nic").result()


def test_run_command_action_answers_stdout_and_stderr(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    result = run_script(clients, rg, "vm", ["echo hello"])
    codes = [status.code for status in result.value]
    assert "ComponentStatus/StdOut/succeeded" in codes
    assert "ComponentStatus/StdErr/succeeded" in codes


def test_managed_run_command_sub_resource(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "vm", subnet_id)
    commands = clients.compute.virtual_machine_run_commands
    body = {"location": "eastus", "properties": {"source": {"script": DEPROVISION_LINUX}}}
    created = commands.begin_create_or_update(rg, "vm", "deprovision", body).result()
    assert created.name == "deprovision"
    assert created.properties.provisioning_state == "Succeeded"
    fetched = commands.get_by_virtual_machine(rg, "vm", "deprovision", expand="instanceView")
    view = fetched.properties.instance_view
    assert view.execution_state == "Succeeded"
    assert view.exit_code == 0
    assert [c.name for c in commands.list_by_virtual_machine(rg, "vm")] == ["deprovision"]
    commands.begin_delete(rg, "vm", "deprovision").result()
    with pytest.raises(ResourceNotFoundError):
        commands.get_by_virtual_machine(rg, "vm", "deprovision")


def test_paths_match_case_insensitively(clients: Clients, rg: str, subnet_id: str) -> None:
    create_vm(clients, rg, "CaseVM", subnet_id)
    assert clients.compute.virtual_machines.get(rg.upper(), "casevm").name == "CaseVM"


def test_vm_in_a_missing_resource_group_is_refused(clients: Clients) -> None:
    with pytest.raises(HttpResponseError) as caught:
        clients.compute.virtual_machines.get(unique("nowhere"), "vm")
    assert caught.value.status_code == 404
    assert caught.value.error.code in {"ResourceGroupNotFound", "ResourceNotFound"}


def test_resource_group_of_another_region_still_holds_resources(clients: Clients) -> None:
    rg = create_resource_group(clients, unique("rg"), "westeurope")
    subnet = create_subnet(clients, rg, "westeurope")
    vm = create_vm(clients, rg, "euvm", subnet, location="westeurope")
    assert vm.location == "westeurope"
