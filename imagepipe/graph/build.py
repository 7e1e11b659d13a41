"""SpecSet -> StepGraph: each document expands into its steps (docs/internals.md).

Shared infrastructure (resource groups, virtual networks) is one step however
many documents use it. Nodes are added first and edges afterwards, so a
reference to a missing document (only possible while validating invalid
specs) just leaves an edge out.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from imagepipe.errors import Diagnostic, Location, SpecError, error
from imagepipe.graph.flow import (
    CAPTURE_STEP_KINDS,
    CLEANUP,
    GALLERY_DEFINITION,
    GALLERY_VERSION,
    OLDER_VERSIONS,
    RESTORE,
    RETAIN,
    SNAPSHOT_SOURCE_DISKS,
    TEMPORARIES,
    CaptureFlow,
    builds_on_restore_point,
    capture_flow,
    generalize_steps,
    output_step_of,
    quiesce_step,
)
from imagepipe.graph.step import Step, address
from imagepipe.graph.stepgraph import StepGraph, address_key
from imagepipe.spec.images import is_capture_ref
from imagepipe.spec.model import Capture, Deployment, SourceVHD, SourceVM, SpecSet, Subnet
from imagepipe.vocabulary import StepKind


class _Expander:
    def __init__(self, specset: SpecSet):
        self.specset = specset
        self.graph = nx.DiGraph()
        self.edges: list[tuple[str, str]] = []
        self.outputs: dict[str, str] = {}
        self.last_step: dict[str, str] = {}
        self.retains: dict[str, str] = {}  # capture ref -> its retain step

    # -- primitives ------------------------------------------------------------------------

    def add(
        self,
        document: str,
        name: str,
        kind: StepKind,
        location: Location | None,
        index: int | None = None,
    ) -> str:
        node = address(document, name, index)
        self.graph.add_node(node, step=Step(node, document, name, kind, index, location))
        return node

    def chain(
        self, document: str, names: Iterable[str], location: Location | None, after: str | None
    ) -> str | None:
        previous = after
        for name in names:
            node = self.add(document, name, CAPTURE_STEP_KINDS[name], location)
            if previous is not None:
                self.edges.append((previous, node))
            previous = node
        return previous

    def resource_group(self, name: str, region: str, location: Location | None) -> str:
        node = f"ResourceGroup/{name}"
        if node not in self.graph:
            params = {"name": name, "location": region}
            self.graph.add_node(
                node, step=Step(node, node, "resource-group", StepKind.RESOURCE_GROUP, None, location, params)
            )
        return node

    def vnet(self, resource_group: str, subnet: Subnet, region: str, location: Location | None) -> str:
        group = self.resource_group(resource_group, region, location)
        node = f"VirtualNetwork/{resource_group}/{subnet.vnet}"
        if node not in self.graph:
            params = {
                "resource_group": resource_group,
                "name": subnet.vnet,
                "location": region,
                "subnets": {},
            }
            self.graph.add_node(
                node,
                step=Step(node, node, "virtual-network", StepKind.VIRTUAL_NETWORK, None, location, params),
            )
            self.edges.append((group, node))
        self.graph.nodes[node]["step"].params["subnets"].setdefault(subnet.name, subnet.address_prefix)
        return node

    # -- documents -------------------------------------------------------------------------

    def expand(self) -> None:
        documents = list(self.specset.documents.values())
        for doc in documents:
            if isinstance(doc, Capture):
                self.outputs[doc.ref] = output_step_of(doc)
        for kind in (SourceVM, SourceVHD, Capture, Deployment):
            for doc in documents:
                if isinstance(doc, kind):
                    getattr(self, f"_{kind.__name__.lower()}")(doc)

    def _sourcevm(self, vm: SourceVM) -> None:
        if vm.create is None:
            self.last_step[vm.ref] = self.add(vm.ref, "vm", StepKind.EXISTING_VM, vm.location)
            return
        create = vm.create
        network = self.vnet(vm.resource_group, create.subnet, vm.location_name, vm.location)
        nic = self.add(vm.ref, "nic", StepKind.SOURCE_NIC, vm.location)
        self.edges.append((network, nic))
        machine = self.add(vm.ref, "vm", StepKind.SOURCE_VM, vm.location)
        self.edges.append((nic, machine))
        if is_capture_ref(create.image) and create.image in self.outputs:
            self.edges.append((self.outputs[create.image], machine))
        previous = machine
        for i, script in enumerate(create.customize):
            node = self.add(vm.ref, "customize", StepKind.CUSTOMIZE, script.location or vm.location, i)
            self.edges.append((previous, node))
            previous = node
        self.last_step[vm.ref] = previous

    def _sourcevhd(self, vhd: SourceVHD) -> None:
        """A VHD has no steps of its own: its capture imports the blobs."""

    def _capture(self, capture: Capture) -> None:
        source = self.specset.documents.get(capture.source)
        region = getattr(source, "location_name", "")
        where = capture.location
        after = self.last_step.get(capture.source)
        snapshots_rg = capture.snapshots.resource_group if capture.snapshots else ""
        image_node: str | None = None
        flow = capture_flow(capture, source)
        if flow is CaptureFlow.VHD_IMAGE:  # the blobs are imported directly: into an image
            image_node = self.chain(capture.ref, ["image"], where, None)
        elif flow is CaptureFlow.VHD_SNAPSHOTS:  # or into snapshots
            snaps = self.chain(capture.ref, ["snapshots"], where, None)
            self.edges.append((self.resource_group(snapshots_rg, region, where), snaps or ""))
        elif builds_on_restore_point(capture, source):
            # The restore point is the copy: the output of a specialized capture, the temporary
            # VM's disks of a generalized one. The source keeps running: nothing to restore.
            point = self.chain(capture.ref, [quiesce_step(capture)], where, after)
            self.edges.append((self.resource_group(snapshots_rg, region, where), point or ""))
            if flow is CaptureFlow.PRESERVE:
                image_node = self.chain(capture.ref, [*TEMPORARIES, *generalize_steps(capture)], where, point)
        elif flow is CaptureFlow.SPECIALIZED:
            quiesce = self.chain(capture.ref, [quiesce_step(capture)], where, after)
            snaps = self.chain(capture.ref, ["snapshots"], where, quiesce)
            self.edges.append((self.resource_group(snapshots_rg, region, where), snaps or ""))
            self.chain(capture.ref, [RESTORE], where, snaps)
        elif flow is CaptureFlow.IN_PLACE:
            image_node = self.chain(capture.ref, generalize_steps(capture), where, after)
        else:
            snaps = self.chain(capture.ref, [quiesce_step(capture), SNAPSHOT_SOURCE_DISKS], where, after)
            self.edges.append((self.resource_group(snapshots_rg, region, where), snaps or ""))
            self.chain(capture.ref, [RESTORE], where, snaps)
            image_node = self.chain(capture.ref, [*TEMPORARIES, *generalize_steps(capture)], where, snaps)
        if image_node is not None and capture.image is not None:
            self.edges.append((self.resource_group(capture.image.resource_group, region, where), image_node))
        last = image_node
        if image_node is not None and capture.gallery is not None:
            gallery_rg = self.resource_group(capture.gallery.resource_group, region, where)
            definition = self.chain(capture.ref, GALLERY_DEFINITION, where, gallery_rg)
            version = self.chain(capture.ref, [GALLERY_VERSION], where, definition)
            self.edges.append((image_node, version or ""))
            last = version
            if capture.gallery.older is not None:
                self.chain(capture.ref, [OLDER_VERSIONS], where, version)
            if capture.gallery.retain is not None:
                self.retains[capture.ref] = self.chain(capture.ref, [RETAIN], where, version) or ""
        if flow is CaptureFlow.PRESERVE and isinstance(source, SourceVM):
            self.chain(capture.ref, [CLEANUP], where, last)

    def _deployment(self, deployment: Deployment) -> None:
        where = deployment.location
        region = deployment.location_name
        if deployment.subnet is not None:
            network = self.vnet(deployment.resource_group, deployment.subnet, region, where)
        else:
            network = self.resource_group(deployment.resource_group, region, where)
        output = self.outputs.get(deployment.image)
        capture = self.specset.documents.get(deployment.image)
        from_snapshots = isinstance(capture, Capture) and capture.type == "specialized"
        if deployment.mode == "scaleSet":
            node = self.add(deployment.ref, "vmss", StepKind.DEPLOYMENT_VMSS, where)
            self.edges.append((network, node))
            if output:
                self.edges.append((output, node))
            return
        for i in range(deployment.count):
            # The VM creates its own NIC (networkInterfaceConfigurations): one write per VM.
            machine = self.add(deployment.ref, "vm", StepKind.DEPLOYMENT_VM, where, i)
            self.edges.append((network, machine))
            if from_snapshots:
                disks = self.add(deployment.ref, "disks", StepKind.DEPLOYMENT_DISKS, where, i)
                self.edges.append((network, disks))
                if output:
                    self.edges.append((output, disks))
                self.edges.append((disks, machine))
            elif output:
                self.edges.append((output, machine))

    def finish(self) -> StepGraph:
        graph = self.graph
        graph.add_edges_from((u, v) for u, v in self.edges if u in graph and v in graph)
        for capture, retain in self.retains.items():  # after every user of the version (a rollout)
            users = [
                n
                for n in graph.successors(self.outputs[capture])
                if graph.nodes[n]["step"].document != capture
            ]
            graph.add_edges_from((user, retain) for user in users)
        return StepGraph(graph, self.outputs)


def _cycle_diagnostic(graph: nx.DiGraph) -> Diagnostic | None:
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    steps = [u for u, _ in cycle]
    start = min(range(len(steps)), key=lambda i: address_key(steps[i]))
    steps = steps[start:] + steps[:start]
    documents: list[str] = []
    for node in [*steps, steps[0]]:
        document = graph.nodes[node]["step"].document
        if not documents or documents[-1] != document:
            documents.append(document)
    located = [graph.nodes[n]["step"] for n in steps if graph.nodes[n]["step"].location is not None]
    first = min(located, key=lambda s: s.location) if located else None
    return error(
        f"dependency cycle: {' -> '.join(documents)}",
        first.location if first else None,
        first.document if first else None,
    )


def expand(specset: SpecSet) -> tuple[StepGraph, Diagnostic | None]:
    """The graph, and the cycle in it if there is one (for validation)."""
    expander = _Expander(specset)
    expander.expand()
    step_graph = expander.finish()
    return step_graph, _cycle_diagnostic(step_graph.graph)


def build_graph(specset: SpecSet) -> StepGraph:
    """The step DAG of a valid spec set; a cycle raises SpecError with its path."""
    step_graph, cycle = expand(specset)
    if cycle is not None:
        raise SpecError([cycle])
    return step_graph
