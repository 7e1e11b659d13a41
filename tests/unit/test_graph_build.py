"""The step graph: expansion per docs/internals.md, ordering, queries, cycles, scale."""

from pathlib import Path

import networkx as nx
import pytest

from imagepipe.errors import SpecError
from imagepipe.graph import StepGraph, build_graph
from imagepipe.spec import load_one

SPECS = Path(__file__).resolve().parents[2] / "specs"


@pytest.fixture(scope="module")
def learn() -> StepGraph:
    return build_graph(load_one([SPECS / "learn-exercise"]))


@pytest.fixture(scope="module")
def fleet() -> StepGraph:
    return build_graph(load_one([SPECS / "fleet"]))


def _position(graph: StepGraph) -> dict[str, int]:
    return {step.address: i for i, step in enumerate(graph.steps())}


def test_learn_exercise_runs_generalize_then_image_then_the_new_vm(learn: StepGraph) -> None:
    order = _position(learn)
    assert (
        order["SourceVM/source/vm"]
        < order["SourceVM/source/customize[0]"]
        < order["Capture/my-image/deprovision"]
        < order["Capture/my-image/deallocate"]
        < order["Capture/my-image/generalize"]
        < order["Capture/my-image/image"]
        < order["Deployment/new-vm/vm[0]"]
    )
    assert [s.name for s in learn.steps_of("Capture/my-image")] == [
        "deprovision",
        "deallocate",
        "generalize",
        "image",
    ]
    assert learn.output_step("Capture/my-image") == "Capture/my-image/image"
    # The deployment VM creates its own NIC: it needs only the network and the image.
    assert learn.dependencies("Deployment/new-vm/vm[0]") == [
        "Capture/my-image/image",
        "VirtualNetwork/learn-rg/learn-vnet",
    ]


def test_shared_network_is_one_step_with_every_subnet(learn: StepGraph) -> None:
    vnet = learn.step("VirtualNetwork/learn-rg/learn-vnet")
    assert vnet.params == {
        "resource_group": "learn-rg",
        "name": "learn-vnet",
        "location": "eastus",
        "subnets": {"default": "10.0.0.0/24"},
    }
    assert learn.dependencies(vnet.address) == ["ResourceGroup/learn-rg"]
    assert learn.dependants(vnet.address) == ["Deployment/new-vm/vm[0]", "SourceVM/source/nic"]
    assert learn.step("ResourceGroup/learn-rg").params == {"name": "learn-rg", "location": "eastus"}


def test_preserved_source_gallery_capture_expands_fully(fleet: StepGraph) -> None:
    names = [s.name for s in fleet.steps_of("Capture/web-image")]
    assert set(names) == {
        "quiesce", "snapshot-source-disks", "restore-source", "temp-disks", "temp-vm", "deprovision",
        "deallocate", "generalize", "image", "gallery", "gallery-image", "gallery-version", "cleanup",
        "retain", "older-versions",
    }  # fmt: skip
    chain = [
        "quiesce",
        "snapshot-source-disks",
        "temp-disks",
        "temp-vm",
        "deprovision",
        "deallocate",
        "generalize",
        "image",
        "gallery-version",
        "cleanup",
    ]
    assert [n for n in names if n in chain] == chain
    assert fleet.output_step("Capture/web-image") == "Capture/web-image/gallery-version"
    vm = "Deployment/web-west/vm[19]"
    assert "Capture/web-image/gallery-version" in fleet.dependencies(vm)
    ancestors = nx.ancestors(fleet.graph, vm)
    assert (
        "Capture/web-image/cleanup" not in ancestors and "Capture/web-image/restore-source" not in ancestors
    )
    assert len([s for s in fleet.steps() if s.name == "vm" and s.document.startswith("Deployment/")]) == 40
    # gallery.retain runs after every VM that uses the version: a fleet rolled off one lets it go.
    assert vm in fleet.dependencies("Capture/web-image/retain")
    assert fleet.dependants("Capture/web-image/retain") == []
    # gallery.olderVersions steps the older versions back as soon as the new one exists (no fleet).
    assert fleet.dependencies("Capture/web-image/older-versions") == ["Capture/web-image/gallery-version"]
    assert fleet.dependants("Capture/web-image/older-versions") == []


def test_vm_indexes_sort_numerically(fleet: StepGraph) -> None:
    vms = [s.index for s in fleet.steps_of("Deployment/web-east") if s.name == "vm"]
    assert vms == list(range(20))


def test_specialized_capture_restores_disks_then_vm() -> None:
    graph = build_graph(load_one([SPECS / "snapshot-restore"]))
    assert [s.name for s in graph.steps_of("Capture/app-snapshot")] == [
        "quiesce",
        "snapshots",
        "restore-source",
    ]
    assert graph.output_step("Capture/app-snapshot") == "Capture/app-snapshot/snapshots"
    assert graph.dependencies("Deployment/app-restore/disks[0]") == [
        "Capture/app-snapshot/snapshots",
        "VirtualNetwork/snap-restore-rg/restore-vnet",
    ]
    assert "Deployment/app-restore/disks[0]" in graph.dependencies("Deployment/app-restore/vm[0]")


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "s.yaml").write_text(text)
    return tmp_path


HEAD = "apiVersion: imagepipe/v1\nkind: Stack\nmetadata: {name: g}\nspec: {location: eastus}\n"


def _source(name: str, image: str, extra: str = "") -> str:
    return f"""---
apiVersion: imagepipe/v1
kind: SourceVM
metadata: {{name: {name}}}
spec:
  resourceGroup: rg
  vmName: {name}
{extra}  create:
    securityType: Standard
    image: {image}
    sshPublicKey: {{env: K}}
    subnet: {{vnet: v, name: s, addressPrefix: 10.0.0.0/24}}
"""


def _capture(name: str, source: str, extra: str = "") -> str:
    return f"---\napiVersion: imagepipe/v1\nkind: Capture\nmetadata: {{name: {name}}}\nspec: {{source: {source}{extra}}}\n"


def test_scale_set_and_chained_sources(tmp_path: Path) -> None:
    text = (
        HEAD
        + _source("base", "Debian12")
        + _capture("base-img", "SourceVM/base", ", preserveSource: false")
        + _source("layered", "Capture/base-img")
        + _capture("final", "SourceVM/layered", ", preserveSource: false")
        + "---\napiVersion: imagepipe/v1\nkind: Deployment\nmetadata: {name: ss}\n"
        + "spec: {image: Capture/final, resourceGroup: rg, mode: scaleSet, count: 5, sshPublicKey: {env: K},"
        + " subnet: {vnet: v, name: s, addressPrefix: 10.0.0.0/24}}\n"
    )
    graph = build_graph(load_one([_write(tmp_path, text)]))
    assert "Capture/base-img/image" in graph.dependencies("SourceVM/layered/vm")
    assert [s.address for s in graph.steps_of("Deployment/ss")] == ["Deployment/ss/vmss"]
    assert graph.dependencies("Deployment/ss/vmss") == ["Capture/final/image", "VirtualNetwork/rg/v"]


def test_a_cycle_is_refused_with_its_path(tmp_path: Path) -> None:
    text = HEAD + _source("a", "Capture/from-a") + _capture("from-a", "SourceVM/a")
    folder = _write(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_one([folder])
    message = str(caught.value)
    assert "dependency cycle: Capture/from-a -> SourceVM/a -> Capture/from-a" in message
    assert message.startswith(f"{folder / 's.yaml'}:") or message.startswith("s.yaml:")


def test_ten_thousand_steps(tmp_path: Path) -> None:
    text = (
        HEAD + _source("big", "Ubuntu2204") + _capture("big-img", "SourceVM/big", ", preserveSource: false")
    )
    for n in range(10):
        text += (
            f"---\napiVersion: imagepipe/v1\nkind: Deployment\nmetadata: {{name: d{n}}}\n"
            f"spec: {{image: Capture/big-img, resourceGroup: rg, count: 1000, sshPublicKey: {{env: K}},"
            " subnet: {vnet: v, name: s, addressPrefix: 10.0.0.0/24}}\n"
        )
    graph = build_graph(load_one([_write(tmp_path, text)]))
    assert len(graph) > 10_000
    steps = graph.steps()
    assert steps[-1].address == "Deployment/d9/vm[999]"
    assert nx.is_directed_acyclic_graph(graph.graph)


@pytest.mark.parametrize(
    ("capture_type", "os_state", "output"),
    [("generalized", "Generalized", "image"), ("specialized", "Specialized", "snapshots")],
)
def test_a_vhd_capture_imports_the_blobs_in_one_step(
    tmp_path: Path, capture_type: str, os_state: str, output: str
) -> None:
    text = (
        HEAD
        + "---\napiVersion: imagepipe/v1\nkind: SourceVHD\nmetadata: {name: v}\n"
        + f"spec: {{resourceGroup: vrg, osType: Linux, osState: {os_state}, osDiskUri: 'https://s.blob.core.windows.net/c/os.vhd'}}\n"
        + _capture("c", "SourceVHD/v", f", type: {capture_type}")
    )
    graph = build_graph(load_one([_write(tmp_path, text)]))
    assert [s.address for s in graph.steps_of("Capture/c")] == [f"Capture/c/{output}"]
    assert graph.output_step("Capture/c") == f"Capture/c/{output}"
    assert graph.dependencies(f"Capture/c/{output}") == ["ResourceGroup/vrg"]
