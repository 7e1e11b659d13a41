"""ARM resource type names the emulator serves: the one place these strings are spelled."""

from __future__ import annotations

# Microsoft.Resources
RESOURCE_GROUP = "Microsoft.Resources/resourceGroups"
DEPLOYMENT = "Microsoft.Resources/deployments"
DEPLOYMENT_OPERATION = "Microsoft.Resources/deployments/operations"

# Microsoft.Compute
VM = "Microsoft.Compute/virtualMachines"
RUN_COMMAND = "Microsoft.Compute/virtualMachines/runCommands"
VMSS = "Microsoft.Compute/virtualMachineScaleSets"
VMSS_VM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
DISK = "Microsoft.Compute/disks"
SNAPSHOT = "Microsoft.Compute/snapshots"
IMAGE = "Microsoft.Compute/images"
GALLERY = "Microsoft.Compute/galleries"
GALLERY_IMAGE = "Microsoft.Compute/galleries/images"
GALLERY_VERSION = "Microsoft.Compute/galleries/images/versions"
RESTORE_POINT_COLLECTION = "Microsoft.Compute/restorePointCollections"
RESTORE_POINT = "Microsoft.Compute/restorePointCollections/restorePoints"
DISK_RESTORE_POINT = "Microsoft.Compute/restorePointCollections/restorePoints/diskRestorePoints"
VMSS_ROLLING_UPGRADE = "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades"

# Microsoft.Network
VNET = "Microsoft.Network/virtualNetworks"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
NIC = "Microsoft.Network/networkInterfaces"
PUBLIC_IP = "Microsoft.Network/publicIPAddresses"
NSG = "Microsoft.Network/networkSecurityGroups"
