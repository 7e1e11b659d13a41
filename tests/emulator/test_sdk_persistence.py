"""State survives a restart on the same state folder; in-flight operations finish afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import (
    UBUNTU_2204,
    create_nic,
    create_resource_group,
    create_subnet,
    create_vm,
    make_clients,
    unique,
    vm_body,
    wait_until,
)


def test_resources_survive_a_restart(start_other: Any, tmp_path: Path) -> None:
    state = tmp_path / "kept"
    state.mkdir()
    first = start_other(state)
    clients = make_clients(first)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    create_vm(clients, rg, "keeper", subnet, data_disk_sizes=[8])
    before = clients.compute.virtual_machines.get(rg, "keeper")
    ca_before = first.ca_file.read_bytes()
    first.stop()

    second = start_other(state)
    # Same CA: clients that trusted the first run keep trusting the second.
    assert second.ca_file.read_bytes() == ca_before
    again = make_clients(second)
    after = again.compute.virtual_machines.get(rg, "keeper")
    assert after.id == before.id
    assert after.properties.vm_id == before.properties.vm_id
    assert after.properties.provisioning_state == "Succeeded"
    assert again.compute.disks.get(rg, "keeper-data0").properties.disk_state == "Attached"
    assert again.network.network_interfaces.get(rg, "keeper-nic").name == "keeper-nic"
    assert rg in {group.name for group in again.resource.resource_groups.list()}


def test_an_operation_in_flight_at_stop_finishes_after_restart(start_other: Any, tmp_path: Path) -> None:
    state = tmp_path / "inflight"
    state.mkdir()
    # Speed 40: the VM create takes a second and a half, so it is still running when the emulator stops.
    first = start_other(state, speed=40.0)
    clients = make_clients(first)
    rg = create_resource_group(clients, unique("rg"))
    nic = create_nic(clients, rg, "vm-nic", create_subnet(clients, rg))
    clients.compute.virtual_machines.begin_create_or_update(
        rg, "vm", vm_body("vm", nic, UBUNTU_2204), polling=False
    )
    assert clients.compute.virtual_machines.get(rg, "vm").properties.provisioning_state == "Creating"
    first.stop()

    second = start_other(state, speed=40.0)
    again = make_clients(second)
    wait_until(
        lambda: again.compute.virtual_machines.get(rg, "vm").properties.provisioning_state == "Succeeded"
    )
    view = again.compute.virtual_machines.instance_view(rg, "vm")
    assert "PowerState/running" in [status.code for status in view.statuses]
