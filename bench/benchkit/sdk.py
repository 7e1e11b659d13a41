"""azure-mgmt-* clients with the SDK's defaults, pointed at a running emulator by its export lines."""

from __future__ import annotations

import time
from typing import Any

from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from benchkit import specgen

ARM_SCOPE = "https://management.azure.com/.default"
REPLICATION_TIMEOUT = 600.0  # wall seconds


class ArmClients:
    """The three SDK clients with their defaults (retries, polling), pointed at the emulator."""

    def __init__(self, env: dict[str, str]) -> None:
        ca_file = env["IMAGEPIPE_CA_FILE"]
        endpoint = env["IMAGEPIPE_ENDPOINT"]
        self.subscription = env["AZURE_SUBSCRIPTION_ID"]
        self.credential = ClientSecretCredential(
            env["AZURE_TENANT_ID"],
            env["AZURE_CLIENT_ID"],
            env["AZURE_CLIENT_SECRET"],
            authority=env["AZURE_AUTHORITY_HOST"],
            disable_instance_discovery=True,  # else MSAL asks the public cloud first
            connection_verify=ca_file,
        )
        options: dict[str, Any] = {
            "base_url": endpoint,
            "credential_scopes": [ARM_SCOPE],
            "connection_verify": ca_file,
        }
        self.compute = ComputeManagementClient(self.credential, self.subscription, **options)
        self.network = NetworkManagementClient(self.credential, self.subscription, **options)
        self.resources = ResourceManagementClient(self.credential, self.subscription, **options)

    def close(self) -> None:
        for client in (self.compute, self.network, self.resources, self.credential):
            client.close()


def wait_for_replication(clients: ArmClients, timeout: float = REPLICATION_TIMEOUT) -> None:
    """Until the benchmark's gallery version is replicated to every target region.

    A version's create ends before its replicas are ready; the fan-out is measured
    from ready replicas, as the lower bound assumes, so set-up waits here.
    """
    deadline = time.monotonic() + timeout
    while True:
        version = clients.compute.gallery_image_versions.get(
            specgen.IMAGES_GROUP,
            specgen.GALLERY,
            specgen.CAPTURE,
            specgen.GALLERY_VERSION,
            expand="ReplicationStatus",
        )
        status = version.replication_status
        if status is not None and status.aggregated_state == "Completed":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"gallery version not replicated after {timeout:.0f} s")
        time.sleep(0.1)
