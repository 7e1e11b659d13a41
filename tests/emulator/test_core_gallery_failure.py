"""A gallery image version whose create operation fails: its regions report Failed (never
Completed), it ends Failed, and no VM can be created from it; once the cause is gone it can be made
again under the same version number."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .helpers import (
    Clients,
    clear_faults,
    create_nic,
    create_resource_group,
    create_subnet,
    error_code,
    image_from_blob,
    make_clients,
    set_faults,
    unique,
    vm_body,
    wait_until,
)
from .test_sdk_gallery import create_gallery_image, replication, version_body

QUOTA = {"operation": "GalleryImageVersions_CreateOrUpdate", "lro_error": "QuotaExceeded", "probability": 1}
REGIONS = {"eastus": 1, "westus": 1}


def provisioning_state(clients: Clients, rg: str) -> str:
    return clients.compute.gallery_image_versions.get(rg, "gal", "web", "1.0.0").properties.provisioning_state


def vm_from_version(clients: Clients, rg: str, subnet_id: str, name: str, version_id: str) -> Any:
    nic_id = create_nic(clients, rg, f"{name}-nic", subnet_id)
    body = vm_body(name, nic_id, {"id": version_id})
    return clients.compute.virtual_machines.begin_create_or_update(rg, name, body).result()


@pytest.fixture
def slow(start_other: Any) -> Any:
    """Slow enough (replication takes about a second) to watch the regions while the version runs."""
    return start_other(speed=300.0)


def test_a_failed_version_never_completes_a_replica_and_serves_no_vm(slow: Any) -> None:
    clients = make_clients(slow)
    rg = create_resource_group(clients, unique("rg"))
    subnet_id = create_subnet(clients, rg)
    create_gallery_image(clients, rg)
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    set_faults(slow, [QUOTA])
    versions = clients.compute.gallery_image_versions
    poller = versions.begin_create_or_update(rg, "gal", "web", "1.0.0", version_body(image.id, REGIONS))

    seen: set[str] = set()

    def failed() -> bool:
        status = replication(clients, rg)
        seen.update(entry.state for entry in status.summary)
        return provisioning_state(clients, rg) == "Failed"

    wait_until(failed, interval=0.01)
    with pytest.raises(HttpResponseError) as raised:
        poller.result()
    assert error_code(raised.value) == "QuotaExceeded"
    assert "Completed" not in seen

    status = replication(clients, rg)
    assert status.aggregated_state == "Failed"
    assert {entry.state for entry in status.summary} == {"Failed"}
    assert all("QuotaExceeded" in entry.details for entry in status.summary)

    version_id = versions.get(rg, "gal", "web", "1.0.0").id
    with pytest.raises(HttpResponseError) as refused:
        vm_from_version(clients, rg, subnet_id, "from-failed", version_id)
    assert error_code(refused.value) == "OperationNotAllowed"
    assert refused.value.status_code == 409
    assert [vm.name for vm in clients.compute.virtual_machines.list(rg)] == []

    # The cause removed, the same version number is made again and serves VMs.
    clear_faults(slow)
    versions.begin_delete(rg, "gal", "web", "1.0.0").result()
    versions.begin_create_or_update(rg, "gal", "web", "1.0.0", version_body(image.id, REGIONS)).result()
    assert provisioning_state(clients, rg) == "Succeeded"
    assert {entry.state for entry in replication(clients, rg).summary} == {"Completed"}
    vm = vm_from_version(clients, rg, subnet_id, "from-good", version_id)
    assert vm.properties.provisioning_state == "Succeeded"


def test_a_failed_version_put_again_replicates_anew(clients: Clients, emulator: Any) -> None:
    rg = create_resource_group(clients, unique("rg"))
    create_gallery_image(clients, rg)
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    versions = clients.compute.gallery_image_versions
    set_faults(emulator, [QUOTA])
    try:
        with pytest.raises(HttpResponseError):
            versions.begin_create_or_update(
                rg, "gal", "web", "1.0.0", version_body(image.id, REGIONS)
            ).result()
    finally:
        clear_faults(emulator)
    assert provisioning_state(clients, rg) == "Failed"

    versions.begin_create_or_update(rg, "gal", "web", "1.0.0", version_body(image.id, REGIONS)).result()
    assert provisioning_state(clients, rg) == "Succeeded"
    status = wait_until(lambda: (s := replication(clients, rg)) and s.aggregated_state == "Completed" and s)
    assert {entry.state for entry in status.summary} == {"Completed"}
