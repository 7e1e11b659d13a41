"""The fan-out done the way a generic tool does it, for comparison with imagepipe.

Global parallelism 10 (Terraform's default), one SDK long-running-operation poller
per resource (NIC, then VM, per index: `begin_create_or_update(...).result()`), no
pacing and the SDK's default retry policy; straight azure-mgmt-* calls against the
same kind of emulator. The capture is made with imagepipe during set-up (not timed),
as are the resource groups and virtual networks.

    python bench/naive.py [--n N] [--speed S] [--image managed|gallery]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchkit import figures, specgen
from benchkit.emulator import EmulatorProcess
from benchkit.loads import image_loads
from benchkit.runcli import run_imagepipe
from benchkit.sdk import ArmClients, wait_for_replication

NAIVE_PARALLELISM = 10


def image_id(subscription: str, shape: specgen.FanoutShape) -> str:
    group = f"/subscriptions/{subscription}/resourceGroups/{specgen.IMAGES_GROUP}"
    if shape.image == "gallery":
        return f"{group}/providers/Microsoft.Compute/galleries/benchgallery/images/{specgen.CAPTURE}/versions/1.0.0"
    return f"{group}/providers/Microsoft.Compute/images/{specgen.CAPTURE}-image"


def nic_body(location: str, subnet_id: str) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "ipConfigurations": [
                {
                    "name": "ipconfig1",
                    "properties": {"subnet": {"id": subnet_id}, "privateIPAllocationMethod": "Dynamic"},
                }
            ]
        },
    }


def vm_body(location: str, name: str, image: str, nic_id: str, ssh_key: str) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {
                "imageReference": {"id": image},
                "osDisk": {
                    "name": f"{name}-osdisk",
                    "createOption": "FromImage",
                    "deleteOption": "Delete",
                    "managedDisk": {"storageAccountType": "Standard_LRS"},
                },
            },
            "osProfile": {
                "computerName": name,
                "adminUsername": "azureuser",
                "linuxConfiguration": {
                    "disablePasswordAuthentication": True,
                    "ssh": {
                        "publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": ssh_key}]
                    },
                },
            },
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
        },
    }


def prepare_networks(clients: ArmClients, deployments: list[dict[str, Any]]) -> dict[str, str]:
    """Resource group and vnet of every Deployment (set-up, not timed): {deployment: subnet id}."""
    subnets = {}
    for doc in deployments:
        spec = doc["spec"]
        group, location, subnet = spec["resourceGroup"], spec["location"], spec["subnet"]
        clients.resources.resource_groups.create_or_update(group, {"location": location})
        vnet = clients.network.virtual_networks.begin_create_or_update(
            group,
            subnet["vnet"],
            {
                "location": location,
                "properties": {
                    "addressSpace": {"addressPrefixes": [subnet["addressPrefix"]]},
                    "subnets": [
                        {"name": subnet["name"], "properties": {"addressPrefix": subnet["addressPrefix"]}}
                    ],
                },
            },
        ).result()
        subnets[doc["metadata"]["name"]] = f"{vnet.id}/subnets/{subnet['name']}"
    return subnets


def create_one(
    clients: ArmClients, group: str, location: str, name: str, subnet_id: str, image: str, ssh_key: str
) -> None:
    """NIC then VM, each waited for by its own SDK poller."""
    nic = clients.network.network_interfaces.begin_create_or_update(
        group, f"{name}-nic", nic_body(location, subnet_id)
    ).result()
    clients.compute.virtual_machines.begin_create_or_update(
        group, name, vm_body(location, name, image, nic.id, ssh_key)
    ).result()


def fan_out(clients: ArmClients, tasks: list[Callable[[], None]]) -> list[str]:
    """Run every task with NAIVE_PARALLELISM workers; answer the errors (a generic tool reports them)."""
    errors = []
    with ThreadPoolExecutor(max_workers=NAIVE_PARALLELISM) as pool:
        for future in [pool.submit(task) for task in tasks]:
            error = future.exception()
            if error is not None:
                errors.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    return errors


def measure_naive(shape: specgen.FanoutShape, speed: float, workdir: Path) -> dict[str, Any]:
    """Set up the capture with imagepipe, then time the naive creation of the N VMs."""
    specs = specgen.write_fanout_specs(workdir / "specs", shape)
    deployments = specgen.deployment_documents(shape)
    ssh_key = (specs.fanout / specgen.KEY_FILE).read_text(encoding="utf-8").strip()
    record: dict[str, Any] = {"bench": "naive", "n": shape.n, "image": shape.image}
    with EmulatorProcess(workdir / "emulator", speed) as emulator:
        setup = run_imagepipe(
            ["apply", str(specs.capture_only), "--yes"], emulator.env, workdir / "logs" / "naive-setup.log"
        )
        if not setup.ok:
            return record | {"error": "set-up: " + setup.describe_failure()}
        clients = ArmClients(emulator.env)
        try:
            if shape.image == "gallery":
                wait_for_replication(clients)
            subnets = prepare_networks(clients, deployments)
            image = image_id(clients.subscription, shape)
            tasks = [
                _task(clients, doc, index, subnets[doc["metadata"]["name"]], image, ssh_key)
                for doc in deployments
                for index in range(doc["spec"]["count"])
            ]
            time.sleep(
                figures.WRITE_BUCKET_CAPACITY / figures.WRITE_REFILL_PER_SECOND / speed
            )  # full buckets
            before = emulator.stats()
            started_at, started = time.time(), time.perf_counter()
            errors = fan_out(clients, tasks)
            wall = time.perf_counter() - started
            after = emulator.stats()
            creates = figures.in_flight_profile(
                emulator.journal("VirtualMachines_CreateOrUpdate"), started_at, speed
            )
        finally:
            clients.close()
    counts = figures.request_deltas(before, after)
    loads = image_loads(specs.fanout)
    lower_bound = figures.lower_bound_seconds(loads, counts.accepted_writes)
    floor = figures.floor_seconds(loads, counts.accepted_writes)
    record |= figures.timing_fields(wall, speed, lower_bound, floor) | figures.request_fields(counts)
    record |= figures.machine_fields()
    record |= {"parallelism": NAIVE_PARALLELISM, "creates": creates, "failed_vms": len(errors)}
    if errors:
        record["error"] = errors[0]
    return record


def _task(
    clients: ArmClients, doc: dict[str, Any], index: int, subnet_id: str, image: str, ssh_key: str
) -> Callable[[], None]:
    spec = doc["spec"]
    name = spec["namePattern"].format(index=index)
    return lambda: create_one(
        clients, spec["resourceGroup"], spec["location"], name, subnet_id, image, ssh_key
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, action="append", help="VMs to create (repeatable; default 100)")
    parser.add_argument("--speed", type=float, default=50.0, help="emulator speed (default 50)")
    parser.add_argument("--image", choices=("managed", "gallery"), action="append", help="default: both")
    parser.add_argument("--source", choices=("vhd", "vm"), default="vm", help="what the capture is made from")
    args = parser.parse_args(argv)
    records = []
    for image in args.image or ["managed", "gallery"]:
        for n in args.n or [100]:
            shape = specgen.FanoutShape(n=n, image=image, source=args.source)
            with tempfile.TemporaryDirectory(prefix="imagepipe-naive-") as tmp:
                records.append(measure_naive(shape, args.speed, Path(tmp)))
    figures.show("naive fan-out (parallelism 10, one poller per VM)", records)
    for record in records:
        print(figures.json_line(record))
    return 1 if any("error" in r for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
