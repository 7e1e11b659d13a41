"""The admin API: fault injection seen through the SDK, reset, and request statistics."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import (
    admin,
    clear_faults,
    create_resource_group,
    create_subnet,
    create_vm,
    error_code,
    make_clients,
    set_faults,
    stats,
    unique,
)


@pytest.fixture
def em(start_other: Any) -> Any:
    """Faults and resets affect a whole emulator: these tests get their own."""
    return start_other()


@pytest.mark.parametrize("status", [500, 503])
def test_injected_server_errors_are_retried_by_the_sdk(em: Any, status: int) -> None:
    # Quick retries, and enough of them that a 30% fault rate cannot exhaust them.
    clients = make_clients(em, retry_backoff_factor=0.01, retry_total=20, retry_status=20)
    seen: list[int] = []
    set_faults(
        em, [{"operation": "ResourceGroups_Get", "status": status, "probability": 0.3, "retry_after": False}]
    )
    name = create_resource_group(clients, unique("rg"))
    for _ in range(20):
        group = clients.resource.resource_groups.get(
            name, raw_response_hook=lambda r: seen.append(r.http_response.status_code)
        )
        assert group.name == name
    assert status in seen
    assert seen.count(200) == 20
    clear_faults(em)


def test_an_injected_lro_failure_surfaces_with_its_code(em: Any) -> None:
    clients = make_clients(em)
    rg = create_resource_group(clients, unique("rg"))
    subnet = create_subnet(clients, rg)
    set_faults(
        em,
        [
            {
                "operation": "VirtualMachines_CreateOrUpdate",
                "lro_error": "AllocationFailed",
                "probability": 1.0,
            }
        ],
    )
    with pytest.raises(HttpResponseError) as caught:
        create_vm(clients, rg, "unlucky", subnet)
    assert error_code(caught.value) == "AllocationFailed"
    clear_faults(em)
    # With the faults cleared the same create goes through.
    assert create_vm(clients, rg, "lucky", subnet).properties.provisioning_state == "Succeeded"


def test_stats_count_requests_by_method_and_operation(em: Any) -> None:
    clients = make_clients(em)
    before = stats(em)
    rg = create_resource_group(clients, unique("rg"))
    clients.resource.resource_groups.get(rg)
    clients.resource.resource_groups.get(rg)
    after = stats(em)
    assert after["requests"]["PUT"] - before["requests"].get("PUT", 0) == 1
    assert after["requests"]["GET"] - before["requests"].get("GET", 0) == 2
    assert after["operations"]["ResourceGroups_Get"] - before["operations"].get("ResourceGroups_Get", 0) == 2
    assert (
        after["operations"]["ResourceGroups_CreateOrUpdate"]
        - before["operations"].get("ResourceGroups_CreateOrUpdate", 0)
        == 1
    )
    assert after["throttled"] == 0

    subnet = create_subnet(clients, rg)
    create_vm(clients, rg, "vm", subnet)
    resources = stats(em)["resources"]
    assert resources["Microsoft.Compute/virtualMachines"] == 1
    assert resources["Microsoft.Network/networkInterfaces"] == 1


def test_reset_forgets_every_resource(em: Any) -> None:
    clients = make_clients(em)
    rg = create_resource_group(clients, unique("rg"))
    create_vm(clients, rg, "vm", create_subnet(clients, rg))
    response = admin(em, "POST", "reset")
    assert response.status_code in {200, 204}
    assert list(clients.resource.resource_groups.list()) == []
    assert stats(em)["resources"].get("Microsoft.Compute/virtualMachines", 0) == 0
    # Tokens issued before the reset still work: reset is about resources.
    assert create_resource_group(clients, unique("rg"))


def test_journal_records_operations_per_resource(em: Any) -> None:
    clients = make_clients(em)
    rg = create_resource_group(clients, unique("rg"))
    vm = create_vm(clients, rg, "vm", create_subnet(clients, rg))
    response = admin(em, "GET", f"journal?resource={vm.id}")
    assert response.status_code == 200
    body = response.json()
    entries = body if isinstance(body, list) else body.get("operations", body.get("value", []))
    assert entries
    assert all(vm.id.lower() in str(entry).lower() for entry in entries)
