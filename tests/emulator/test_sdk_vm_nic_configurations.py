"""VMs that create their own NIC: `networkProfile.networkInterfaceConfigurations` + `networkApiVersion`.

Azure makes one NIC per configuration (named by it, in the VM's group and region), attaches it,
and on VM delete deletes it (deleteOption Delete) or detaches it (Detach, the default).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .helpers import (
    UBUNTU_2204,
    Clients,
    clear_faults,
    create_nic,
    create_resource_group,
    create_subnet,
    create_vm,
    error_code,
    linux_os_profile,
    make_clients,
    set_faults,
    stats,
    unique,
    vm_id,
)

NETWORK_API_VERSION = "2022-11-01"


def nic_config(
    name: str, subnet_id: str, *, delete_option: str | None = "Delete", tags: dict[str, str] | None = None
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "properties": {
            "primary": True,
            "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}],
        },
    }
    if delete_option is not None:
        config["properties"]["deleteOption"] = delete_option
    if tags is not None:
        config["tags"] = tags
    return config


def config_vm_body(
    name: str,
    configs: list[dict[str, Any]],
    *,
    api_version: str | None = NETWORK_API_VERSION,
    image_reference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    network: dict[str, Any] = {"networkInterfaceConfigurations": configs}
    if api_version is not None:
        network["networkApiVersion"] = api_version
    return {
        "location": "eastus",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {
                "imageReference": image_reference or UBUNTU_2204,
                "osDisk": {"createOption": "FromImage", "deleteOption": "Delete"},
            },
            "osProfile": linux_os_profile(name),
            "networkProfile": network,
        },
    }


def create_config_vm(clients: Clients, rg: str, name: str, configs: list[dict[str, Any]], **kw: Any) -> Any:
    body = config_vm_body(name, configs, **kw)
    return clients.compute.virtual_machines.begin_create_or_update(rg, name, body).result()


def refused(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def subnet_users(clients: Clients, rg: str) -> list[str]:
    subnet = clients.network.subnets.get(rg, "vnet", "default")
    return [config.id.lower() for config in subnet.properties.ip_configurations or []]


def delete_network(clients: Clients, rg: str) -> None:
    """The vnet (and its subnet) can go: nothing uses the subnet any more."""
    clients.network.virtual_networks.begin_delete(rg, "vnet").result()
    with pytest.raises(ResourceNotFoundError):
        clients.network.virtual_networks.get(rg, "vnet")


def test_a_vm_creates_its_own_nic(clients: Clients, rg: str, subnet_id: str) -> None:
    vm = create_config_vm(clients, rg, "web", [nic_config("web-nic", subnet_id, tags={"team": "img"})])
    nic = clients.network.network_interfaces.get(rg, "web-nic")
    assert nic.location == "eastus"
    assert nic.tags == {"team": "img"}
    assert nic.properties.provisioning_state == "Succeeded"
    assert nic.properties.virtual_machine.id.lower() == vm.id.lower()
    ip = nic.properties.ip_configurations[0]
    assert ip.id == f"{nic.id}/ipConfigurations/ipconfig1"
    assert ip.properties.subnet.id.lower() == subnet_id.lower()
    assert ipaddress.ip_address(ip.properties.private_ip_address) in ipaddress.ip_network("10.0.0.0/24")
    assert subnet_users(clients, rg) == [ip.id.lower()]
    assert [n.name for n in clients.network.network_interfaces.list(rg)] == ["web-nic"]
    assert nic.id in {n.id for n in clients.network.network_interfaces.list_all()}

    for seen in (
        clients.compute.virtual_machines.get(rg, "web"),
        next(v for v in clients.compute.virtual_machines.list(rg) if v.name == "web"),
        next(v for v in clients.compute.virtual_machines.list_all() if v.id == vm.id),
    ):
        network = seen.properties.network_profile
        assert network.network_api_version == NETWORK_API_VERSION
        [config] = network.network_interface_configurations
        assert (config.name, config.properties.delete_option, config.tags) == (
            "web-nic",
            "Delete",
            {"team": "img"},
        )
        [ref] = network.network_interfaces
        assert ref.id.lower() == nic.id.lower()
        assert (ref.properties.primary, ref.properties.delete_option) == (True, "Delete")


def test_configurations_need_a_network_api_version(clients: Clients, rg: str, subnet_id: str) -> None:
    configs = [nic_config("vm-nic", subnet_id)]
    missing = refused(lambda: create_config_vm(clients, rg, "vm", configs, api_version=None))
    assert (missing.status_code, error_code(missing)) == (400, "InvalidParameter")
    assert missing.error.target == "networkProfile.networkApiVersion"
    assert "networkApiVersion" in missing.error.message
    wrong = refused(lambda: create_config_vm(clients, rg, "vm", configs, api_version="2019-01-01"))
    assert (wrong.status_code, wrong.error.target) == (400, "networkProfile.networkApiVersion")
    # Nothing was made by a refused create.
    with pytest.raises(ResourceNotFoundError):
        clients.network.network_interfaces.get(rg, "vm-nic")
    assert subnet_users(clients, rg) == []


def test_malformed_configurations_are_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    def code_of(configs: list[dict[str, Any]], **kw: Any) -> tuple[int, str | None]:
        error = refused(lambda: create_config_vm(clients, rg, "vm", configs, **kw))
        return error.status_code, error_code(error)

    missing_subnet = subnet_id.replace("/subnets/default", "/subnets/nowhere")
    assert code_of([nic_config("a", missing_subnet)]) == (400, "InvalidResourceReference")
    no_ip = nic_config("a", subnet_id)
    no_ip["properties"]["ipConfigurations"] = []
    assert code_of([no_ip]) == (400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration")
    assert code_of([{**nic_config("a", subnet_id), "name": ""}]) == (400, "InvalidParameter")
    assert code_of([nic_config("a", subnet_id, delete_option="Keep")]) == (400, "InvalidParameter")
    # Made NICs and references at once: one or the other.
    nic_id = create_nic(clients, rg, "made", subnet_id)
    both = config_vm_body("vm", [nic_config("a", subnet_id)])
    both["properties"]["networkProfile"]["networkInterfaces"] = [{"id": nic_id}]
    error = refused(lambda: clients.compute.virtual_machines.begin_create_or_update(rg, "vm", both).result())
    assert (error.status_code, error_code(error)) == (400, "InvalidParameter")
    # A create refused for another reason (an unknown image) makes no NIC either.
    bad_image = {**UBUNTU_2204, "sku": "no-such-sku"}
    assert code_of([nic_config("a", subnet_id)], image_reference=bad_image)[0] == 404
    assert [n.name for n in clients.network.network_interfaces.list(rg)] == ["made"]
    assert len(subnet_users(clients, rg)) == 1


def test_a_nic_name_another_vm_uses_is_refused(clients: Clients, rg: str, subnet_id: str) -> None:
    create_config_vm(clients, rg, "first", [nic_config("shared", subnet_id)])
    error = refused(lambda: create_config_vm(clients, rg, "second", [nic_config("shared", subnet_id)]))
    assert (error.status_code, error_code(error)) == (400, "NicInUse")
    assert vm_id(clients, rg, "first").lower() in error.error.message.lower()
    # The same for a NIC made beforehand and attached to a VM that references it.
    create_vm(clients, rg, "explicit", subnet_id)  # its NIC is "explicit-nic"
    error = refused(lambda: create_config_vm(clients, rg, "third", [nic_config("explicit-nic", subnet_id)]))
    assert error_code(error) == "NicInUse"


def test_an_unattached_nic_of_that_name_is_overwritten(clients: Clients, rg: str, subnet_id: str) -> None:
    clients.network.network_interfaces.begin_create_or_update(
        rg,
        "spare",
        {
            "location": "eastus",
            "tags": {"old": "yes"},
            "properties": {
                "ipConfigurations": [{"name": "old", "properties": {"subnet": {"id": subnet_id}}}]
            },
        },
    ).result()
    vm = create_config_vm(clients, rg, "vm", [nic_config("spare", subnet_id, tags={"new": "yes"})])
    nic = clients.network.network_interfaces.get(rg, "spare")
    assert nic.tags == {"new": "yes"}
    assert nic.properties.virtual_machine.id.lower() == vm.id.lower()
    assert [ip.name for ip in nic.properties.ip_configurations] == ["ipconfig1"]
    assert subnet_users(clients, rg) == [f"{nic.id}/ipConfigurations/ipconfig1".lower()]


def test_vm_delete_deletes_its_nic_and_frees_the_subnet(clients: Clients, rg: str, subnet_id: str) -> None:
    create_config_vm(clients, rg, "vm", [nic_config("vm-nic", subnet_id, delete_option="Delete")])
    clients.compute.virtual_machines.begin_delete(rg, "vm").result()
    with pytest.raises(ResourceNotFoundError):
        clients.network.network_interfaces.get(rg, "vm-nic")
    assert subnet_users(clients, rg) == []
    delete_network(clients, rg)


def test_detach_keeps_the_nic_unattached_and_deletable(clients: Clients, rg: str, subnet_id: str) -> None:
    create_config_vm(clients, rg, "vm", [nic_config("vm-nic", subnet_id, delete_option=None)])
    vm = clients.compute.virtual_machines.get(rg, "vm")
    assert vm.properties.network_profile.network_interfaces[0].properties.delete_option == "Detach"
    clients.compute.virtual_machines.begin_delete(rg, "vm").result()
    nic = clients.network.network_interfaces.get(rg, "vm-nic")
    assert nic.properties.virtual_machine is None
    # A detached NIC still holds its address: the subnet stays in use until the NIC goes.
    assert len(subnet_users(clients, rg)) == 1
    clients.network.network_interfaces.begin_delete(rg, "vm-nic").result()
    assert subnet_users(clients, rg) == []
    delete_network(clients, rg)


def test_a_referenced_nic_with_delete_option_delete_frees_the_subnet(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    nic_id = create_nic(clients, rg, "vm-nic", subnet_id)
    body = config_vm_body("vm", [])
    body["properties"]["networkProfile"] = {
        "networkInterfaces": [{"id": nic_id, "properties": {"primary": True, "deleteOption": "Delete"}}]
    }
    clients.compute.virtual_machines.begin_create_or_update(rg, "vm", body).result()
    clients.compute.virtual_machines.begin_delete(rg, "vm").result()
    with pytest.raises(ResourceNotFoundError):
        clients.network.network_interfaces.get(rg, "vm-nic")
    assert subnet_users(clients, rg) == []
    delete_network(clients, rg)


def test_a_vm_create_with_configurations_is_one_write(start_other: Any) -> None:
    em = start_other()
    clients = make_clients(em)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    before = stats(em)
    create_config_vm(clients, rg, "vm", [nic_config("vm-nic", subnet)])
    after = stats(em)
    writes = {m: after["requests"].get(m, 0) - before["requests"].get(m, 0) for m in ("PUT", "POST", "PATCH")}
    assert writes == {"PUT": 1, "POST": 0, "PATCH": 0}
    assert after["operations"].get("NetworkInterfaces_CreateOrUpdate", 0) == 0
    assert after["resources"]["Microsoft.Network/networkInterfaces"] == 1


def test_a_failed_create_keeps_its_nic_until_the_vm_is_deleted(start_other: Any) -> None:
    em = start_other()
    clients = make_clients(em)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    set_faults(em, [{"operation": "VirtualMachines_CreateOrUpdate", "lro_error": "AllocationFailed"}])
    try:
        error = refused(lambda: create_config_vm(clients, rg, "vm", [nic_config("vm-nic", subnet)]))
    finally:
        clear_faults(em)
    assert error_code(error) == "AllocationFailed"
    assert clients.compute.virtual_machines.get(rg, "vm").properties.provisioning_state == "Failed"
    nic = clients.network.network_interfaces.get(rg, "vm-nic")
    assert nic.properties.virtual_machine.id.lower() == vm_id(clients, rg, "vm").lower()
    clients.compute.virtual_machines.begin_delete(rg, "vm").result()
    with pytest.raises(ResourceNotFoundError):
        clients.network.network_interfaces.get(rg, "vm-nic")
    delete_network(clients, rg)


def test_updates_keep_the_nics_and_refuse_changed_configurations(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    configs = [nic_config("vm-nic", subnet_id, delete_option="Detach")]
    create_config_vm(clients, rg, "vm", configs)
    vms = clients.compute.virtual_machines
    # The same body again (a retried create), then the SDK's read-modify-write of the model.
    vms.begin_create_or_update(rg, "vm", config_vm_body("vm", configs)).result()
    vm = vms.get(rg, "vm")
    vm.tags = {"touched": "yes"}
    vms.begin_create_or_update(rg, "vm", vm).result()
    assert [n.name for n in clients.network.network_interfaces.list(rg)] == ["vm-nic"]
    assert len(subnet_users(clients, rg)) == 1
    assert len(vms.get(rg, "vm").properties.network_profile.network_interfaces) == 1

    changed = [nic_config("other-nic", subnet_id)]
    error = refused(lambda: vms.begin_create_or_update(rg, "vm", config_vm_body("vm", changed)).result())
    assert (error.status_code, error_code(error)) == (409, "PropertyChangeNotAllowed")

    # deleteOption may change; the delete then honours it.
    flipped = [nic_config("vm-nic", subnet_id, delete_option="Delete")]
    vms.begin_create_or_update(rg, "vm", config_vm_body("vm", flipped)).result()
    network = vms.get(rg, "vm").properties.network_profile
    assert network.network_interfaces[0].properties.delete_option == "Delete"
    assert network.network_interface_configurations[0].properties.delete_option == "Delete"
    vms.begin_delete(rg, "vm").result()
    assert list(clients.network.network_interfaces.list(rg)) == []
    delete_network(clients, rg)


def test_nics_made_by_a_vm_survive_a_restart(start_other: Any, tmp_path: Path) -> None:
    state = tmp_path / "kept"
    state.mkdir()
    first = start_other(state)
    clients = make_clients(first)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    create_config_vm(clients, rg, "vm", [nic_config("vm-nic", subnet, tags={"k": "v"})])
    first.stop()

    again = make_clients(start_other(state))
    nic = again.network.network_interfaces.get(rg, "vm-nic")
    assert nic.tags == {"k": "v"}
    assert nic.properties.virtual_machine.id.lower() == vm_id(again, rg, "vm").lower()
    network = again.compute.virtual_machines.get(rg, "vm").properties.network_profile
    assert network.network_api_version == NETWORK_API_VERSION
    assert network.network_interfaces[0].id.lower() == nic.id.lower()
    again.compute.virtual_machines.begin_delete(rg, "vm").result()
    with pytest.raises(ResourceNotFoundError):
        again.network.network_interfaces.get(rg, "vm-nic")
    delete_network(again, rg)
