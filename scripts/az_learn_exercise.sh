#!/usr/bin/env bash
# Walk the Learn "capture an image" exercise with the az CLI against the imagepipe emulator.
#
# Usage: scripts/az_learn_exercise.sh
#   AZ=path/to/az          the az CLI (default: az on PATH)
#   IMAGEPIPE=path/to/imagepipe   used to start an emulator when IMAGEPIPE_ENDPOINT is not set
#   IMAGEPIPE_ENDPOINT, IMAGEPIPE_CA_FILE, AZURE_*   an emulator already running (its printed exports)
#
# Prints one line per step and exits non-zero on the first failure (its output follows).
set -euo pipefail

AZ=${AZ:-az}
IMAGEPIPE=${IMAGEPIPE:-imagepipe}
WORK=$(mktemp -d)
EMULATOR_PID=""

cleanup() {
    if [[ -n "$EMULATOR_PID" ]]; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v "$AZ" >/dev/null 2>&1; then
    echo "FAIL: the az CLI ($AZ) is not installed; set AZ=/path/to/az" >&2
    exit 2
fi

if [[ -z "${IMAGEPIPE_ENDPOINT:-}" ]]; then
    # Our own emulator on a free port, fast simulated time, in a throwaway state folder.
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$IMAGEPIPE" emulator serve --port "$port" --state "$WORK/emulator" --speed "${SPEED:-1000}" \
        >"$WORK/emulator.env" 2>"$WORK/emulator.log" &
    EMULATOR_PID=$!
    for _ in $(seq 100); do
        grep -q AZURE_SUBSCRIPTION_ID "$WORK/emulator.env" 2>/dev/null && break
        sleep 0.1
    done
    # shellcheck disable=SC1091
    source "$WORK/emulator.env"
    for _ in $(seq 100); do
        curl -s -o /dev/null --cacert "$IMAGEPIPE_CA_FILE" "$IMAGEPIPE_ENDPOINT/metadata/endpoints" && break
        sleep 0.1
    done
fi

export AZURE_CONFIG_DIR="$WORK/az" REQUESTS_CA_BUNDLE="$IMAGEPIPE_CA_FILE"
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_NO_COLOR=true AZURE_CORE_ONLY_SHOW_ERRORS=true
mkdir -p "$AZURE_CONFIG_DIR"

STEP=0
OUT=""
# step "what it does" az args...: runs az, keeps its stdout in $OUT, stops the walk on failure.
step() {
    local title=$1
    shift
    STEP=$((STEP + 1))
    if OUT=$("$AZ" "$@" 2>"$WORK/stderr"); then
        printf 'ok   %2d  %s\n' "$STEP" "$title"
    else
        printf 'FAIL %2d  %s\n     az %s\n' "$STEP" "$title" "$*"
        cat "$WORK/stderr"
        exit 1
    fi
}
# expect "what" actual wanted: a check on an answer.
expect() {
    if [[ "$2" != "$3" ]]; then
        printf 'FAIL     %s: got "%s", expected "%s"\n' "$1" "$2" "$3"
        exit 1
    fi
    printf 'ok       %s: %s\n' "$1" "$2"
}

RG=learn-rg
LOCATION=eastus
ssh-keygen -q -t ed25519 -N '' -C learn-exercise -f "$WORK/id_ed25519"

step "register the emulator as a cloud" cloud register -n Emu --endpoint-resource-manager "$IMAGEPIPE_ENDPOINT/"
step "switch to it" cloud set -n Emu
step "turn off instance discovery" config set core.instance_discovery=false
step "log in as the service principal" login --service-principal -u "$AZURE_CLIENT_ID" \
    -p "$AZURE_CLIENT_SECRET" --tenant "$AZURE_TENANT_ID" -o none
step "resource group" group create -n "$RG" -l "$LOCATION" --query properties.provisioningState -o tsv
expect "resource group state" "$OUT" Succeeded

step "source VM from Ubuntu2204 (template deployment)" vm create -g "$RG" -n src-vm --image Ubuntu2204 \
    --admin-username azureuser --ssh-key-values "$WORK/id_ed25519.pub" --query powerState -o tsv
expect "source VM power state" "$OUT" "VM running"
step "deprovision the guest (Run Command)" vm run-command invoke -g "$RG" -n src-vm \
    --command-id RunShellScript --scripts "sudo waagent -deprovision+user -force" \
    --query "value[0].code" -o tsv
expect "run command status" "${OUT##*/}" succeeded
step "deallocate" vm deallocate -g "$RG" -n src-vm
step "generalize" vm generalize -g "$RG" -n src-vm
step "managed image from the VM" image create -g "$RG" -n learn-image --source src-vm \
    --hyper-v-generation V2 --query id -o tsv
IMAGE_ID=$OUT
step "VM from the managed image" vm create -g "$RG" -n from-image --image "$IMAGE_ID" \
    --admin-username azureuser --ssh-key-values "$WORK/id_ed25519.pub" --query powerState -o tsv
expect "new VM power state" "$OUT" "VM running"
step "find its OS disk" vm show -g "$RG" -n from-image --query storageProfile.osDisk.managedDisk.id -o tsv
OS_DISK=$OUT
step "snapshot of the OS disk" snapshot create -g "$RG" -n from-image-os-snap --source "$OS_DISK" \
    --query provisioningState -o tsv
expect "snapshot state" "$OUT" Succeeded
step "gallery" sig create -g "$RG" --gallery-name learnGallery --query provisioningState -o tsv
step "image definition" sig image-definition create -g "$RG" --gallery-name learnGallery \
    --gallery-image-definition ubuntu-base --publisher learn --offer ubuntu --sku 22_04 \
    --os-type Linux --os-state Generalized --hyper-v-generation V2 --query provisioningState -o tsv
step "image version replicated to two regions" sig image-version create -g "$RG" --gallery-name learnGallery \
    --gallery-image-definition ubuntu-base --gallery-image-version 1.0.0 --managed-image "$IMAGE_ID" \
    --target-regions eastus westus2=2 --replica-count 1 --query provisioningState -o tsv
expect "image version state" "$OUT" Succeeded
step "VM list" vm list -g "$RG" --query "length(@)" -o tsv
expect "VMs in the group" "$OUT" 2
step "VM details" vm show -d -g "$RG" -n from-image --query powerState -o tsv
expect "VM details power state" "$OUT" "VM running"
step "delete the resource group" group delete -n "$RG" --yes
step "the group is gone" group exists -n "$RG" -o tsv
expect "group exists" "$OUT" false
echo "all $STEP steps passed"
