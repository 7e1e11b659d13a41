"""Galleries (definitions, versions, replication) and scale sets through the real SDK clients."""

from __future__ import annotations

from typing import Any

import pytest

from imagepipe.emulator import timing

from .helpers import (
    ADMIN_USER,
    SSH_PUBLIC_KEY,
    Clients,
    create_vm,
    image_from_blob,
    set_clock,
    wait_until,
)


def create_gallery_image(clients: Clients, rg: str, gallery: str = "gal", definition: str = "web") -> Any:
    clients.compute.galleries.begin_create_or_update(
        rg, gallery, {"location": "eastus", "properties": {"description": "test gallery"}}
    ).result()
    body = {
        "location": "eastus",
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "contoso", "offer": "web", "sku": "gen2"},
        },
    }
    return clients.compute.gallery_images.begin_create_or_update(rg, gallery, definition, body).result()


def version_body(source_id: str, regions: dict[str, int]) -> dict[str, Any]:
    return {
        "location": "eastus",
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    {"name": name, "regionalReplicaCount": count} for name, count in regions.items()
                ]
            },
            "storageProfile": {"source": {"id": source_id}},
        },
    }


def replication(clients: Clients, rg: str, version: str = "1.0.0") -> Any:
    fetched = clients.compute.gallery_image_versions.get(
        rg, "gal", "web", version, expand="ReplicationStatus"
    )
    return fetched.properties.replication_status


def test_gallery_definition_and_version_with_target_regions(clients: Clients, rg: str) -> None:
    gallery = clients.compute.galleries.begin_create_or_update(
        rg, "gal", {"location": "eastus", "properties": {"description": "d"}}
    ).result()
    assert gallery.type == "Microsoft.Compute/galleries"
    assert gallery.properties.provisioning_state == "Succeeded"
    assert gallery.properties.identifier.unique_name

    definition = create_gallery_image(clients, rg)
    assert definition.type == "Microsoft.Compute/galleries/images"
    assert definition.properties.identifier.publisher == "contoso"
    assert definition.properties.os_state == "Generalized"

    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    version = clients.compute.gallery_image_versions.begin_create_or_update(
        rg, "gal", "web", "1.0.0", version_body(image.id, {"eastus": 2, "westus": 1})
    ).result()
    assert version.type == "Microsoft.Compute/galleries/images/versions"
    assert version.properties.provisioning_state == "Succeeded"
    assert version.properties.storage_profile.source.id.lower() == image.id.lower()
    regions = {
        target.name.replace(" ", "").lower(): target.regional_replica_count
        for target in version.properties.publishing_profile.target_regions
    }
    assert regions == {"eastus": 2, "westus": 1}
    listed = clients.compute.gallery_image_versions.list_by_gallery_image(rg, "gal", "web")
    assert [v.name for v in listed] == ["1.0.0"]

    status = wait_until(lambda: (s := replication(clients, rg)) and s.aggregated_state == "Completed" and s)
    by_region = {entry.region.replace(" ", "").lower(): entry for entry in status.summary}
    assert set(by_region) == {"eastus", "westus"}
    assert all(entry.state == "Completed" and entry.progress == 100 for entry in by_region.values())


def test_replication_status_progresses_over_simulated_time(emulator: Any, clients: Clients, rg: str) -> None:
    """Replication takes 60 + 300 simulated seconds (the second region 30 more): the clock says when."""
    create_gallery_image(clients, rg)
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    set_clock(emulator, paused=True)  # time moves only when the test says so
    try:
        clients.compute.gallery_image_versions.begin_create_or_update(
            rg, "gal", "web", "1.0.0", version_body(image.id, {"eastus": 1, "westus": 1}), polling=False
        )
        early = replication(clients, rg)
        assert early.aggregated_state == "InProgress"
        assert all(entry.state == "Replicating" and (entry.progress or 0) < 100 for entry in early.summary)
        assert clients.compute.gallery_image_versions.get(
            rg, "gal", "web", "1.0.0"
        ).properties.provisioning_state in {"Creating", "Updating"}

        set_clock(emulator, advance=timing.GALLERY_VERSION_BASE + timing.REPLICATION_PER_REGION)
        halfway = {
            entry.region.replace(" ", "").lower(): entry.state for entry in replication(clients, rg).summary
        }
        assert halfway == {"eastus": "Completed", "westus": "Replicating"}  # westus starts 30 s later

        set_clock(emulator, advance=timing.REPLICATION_STAGGER)
        done = replication(clients, rg)
        assert done.aggregated_state == "Completed"
        assert all(entry.state == "Completed" and entry.progress == 100 for entry in done.summary)
        final = clients.compute.gallery_image_versions.get(rg, "gal", "web", "1.0.0")
        assert final.properties.provisioning_state == "Succeeded"
    finally:
        set_clock(emulator, paused=False)


def scale_set_body(image_id: str, subnet_id: str, capacity: int) -> dict[str, Any]:
    return {
        "location": "eastus",
        "sku": {"name": "Standard_B2s", "tier": "Standard", "capacity": capacity},
        "properties": {
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "storageProfile": {
                    "imageReference": {"id": image_id},
                    "osDisk": {
                        "createOption": "FromImage",
                        "managedDisk": {"storageAccountType": "Standard_LRS"},
                    },
                },
                "osProfile": {
                    "computerNamePrefix": "web",
                    "adminUsername": ADMIN_USER,
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": True,
                        "ssh": {
                            "publicKeys": [
                                {
                                    "path": f"/home/{ADMIN_USER}/.ssh/authorized_keys",
                                    "keyData": SSH_PUBLIC_KEY,
                                }
                            ]
                        },
                    },
                },
                "networkProfile": {
                    "networkInterfaceConfigurations": [
                        {
                            "name": "nic",
                            "properties": {
                                "primary": True,
                                "ipConfigurations": [
                                    {"name": "ip", "properties": {"subnet": {"id": subnet_id}}}
                                ],
                            },
                        }
                    ]
                },
            },
        },
    }


@pytest.mark.parametrize("source", ["managed image", "gallery version"])
def test_scale_set_from_an_image_with_capacity(
    clients: Clients, rg: str, subnet_id: str, source: str
) -> None:
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    image_id = image.id
    if source == "gallery version":
        create_gallery_image(clients, rg)
        image_id = (
            clients.compute.gallery_image_versions.begin_create_or_update(
                rg, "gal", "web", "1.0.0", version_body(image.id, {"eastus": 1})
            )
            .result()
            .id
        )
        wait_until(lambda: replication(clients, rg).aggregated_state == "Completed")
    scale_sets = clients.compute.virtual_machine_scale_sets
    created = scale_sets.begin_create_or_update(rg, "web", scale_set_body(image_id, subnet_id, 3)).result()
    assert created.type == "Microsoft.Compute/virtualMachineScaleSets"
    assert created.sku.capacity == 3
    assert created.properties.provisioning_state == "Succeeded"
    instances = list(clients.compute.virtual_machine_scale_set_vms.list(rg, "web"))
    assert len(instances) == 3
    assert len({instance.instance_id for instance in instances}) == 3
    assert all(i.properties.provisioning_state == "Succeeded" for i in instances)
    assert [s.name for s in scale_sets.list(rg)] == ["web"]

    scale_sets.begin_update(rg, "web", {"sku": {"capacity": 5}}).result()
    assert scale_sets.get(rg, "web").sku.capacity == 5
    assert len(list(clients.compute.virtual_machine_scale_set_vms.list(rg, "web"))) == 5
    scale_sets.begin_update(rg, "web", {"sku": {"capacity": 2}}).result()
    assert len(list(clients.compute.virtual_machine_scale_set_vms.list(rg, "web"))) == 2


def test_a_version_excluded_from_latest_keeps_its_marks_and_is_skipped_by_latest(
    clients: Clients, rg: str, subnet_id: str
) -> None:
    """GalleryImageVersions_Update (PATCH) stores publishingProfile.excludeFromLatest and
    endOfLifeDate; a VM from the definition's id (no version) gets the newest version not excluded."""
    image = image_from_blob(clients, rg, "img", hyper_v="V2")
    create_gallery_image(clients, rg)
    versions = clients.compute.gallery_image_versions
    for number in ("1.0.0", "1.0.1"):
        versions.begin_create_or_update(
            rg, "gal", "web", number, version_body(image.id, {"eastus": 1})
        ).result()
        wait_until(lambda n=number: replication(clients, rg, n).aggregated_state == "Completed")
    marks = {"excludeFromLatest": True, "endOfLifeDate": "2027-03-06T12:00:00Z"}
    updated = versions.begin_update(
        rg, "gal", "web", "1.0.1", {"properties": {"publishingProfile": marks}}
    ).result()
    assert updated.properties.publishing_profile.exclude_from_latest is True
    fetched = versions.get(rg, "gal", "web", "1.0.1").properties.publishing_profile
    assert fetched.exclude_from_latest is True
    assert fetched.end_of_life_date.isoformat().startswith("2027-03-06T12:00:00")
    assert [t.regional_replica_count for t in fetched.target_regions] == [1]  # the rest untouched

    definition_id = clients.compute.gallery_images.get(rg, "gal", "web").id
    vm = create_vm(clients, rg, "latest", subnet_id, image_reference={"id": definition_id})
    disk = clients.compute.disks.get(rg, vm.properties.storage_profile.os_disk.name)
    assert disk.properties.creation_data.gallery_image_reference.id.lower().endswith("/versions/1.0.0")
