"""What downstream jobs need from a stack, per document, read from the target (the cloud is the
state): image ids, gallery image versions with their replication per region, snapshot ids (or the
restore point of a specialized ``quiesce: restorePoint`` capture), VM ids with their private IPs,
scale set ids.

A resource belongs to the document whose step made it (its ``imagepipe-spec`` tag). Temporary
resources of a capture (its copies of the source's disks, its temporary VM) are not outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imagepipe import vocabulary as r
from imagepipe.graph import StepGraph
from imagepipe.plan.planner import by_identity, with_children
from imagepipe.spec.model import SpecSet
from imagepipe.steps.context import TAG_SPEC
from imagepipe.steps.port import Provider
from imagepipe.vocabulary import StepKind

# The steps whose resources are outputs, and under which name.
OUTPUT_OF: dict[StepKind, str] = {
    StepKind.CAPTURE_IMAGE: "managed_image",
    StepKind.CAPTURE_GALLERY_VERSION: "gallery_image_version",
    StepKind.CAPTURE_SNAPSHOTS: "snapshots",
    StepKind.CAPTURE_RESTORE_POINT: "restore_point",  # only where it is the capture's output
    StepKind.SOURCE_VM: "vms",
    StepKind.DEPLOYMENT_VM: "vms",
    StepKind.DEPLOYMENT_VMSS: "scale_sets",
}


@dataclass
class DocumentOutputs:
    """One document's outputs; only what it makes and what exists appears."""

    document: str
    managed_image: dict[str, Any] | None = None  # {"id", "name"}
    gallery_image_version: dict[str, Any] | None = None  # {"id", "name", "replication": {region: state}}
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name"}]
    # {"id", "name", "disk_restore_points": {"os"|"data<lun>": id}}
    restore_point: dict[str, Any] | None = None
    vms: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name", "private_ips"}]
    scale_sets: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name"}]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("managed_image", "gallery_image_version", "restore_point"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        for name in ("snapshots", "vms", "scale_sets"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def _index(address: str) -> tuple[str, int]:
    """Sort key: vm[2] before vm[10]."""
    head, _, rest = address.partition("[")
    return head, int(rest.rstrip("]")) if rest.rstrip("]").isdigit() else -1


def collect(provider: Provider, specset: SpecSet, graph: StepGraph) -> list[DocumentOutputs]:
    """Every document's outputs, in the graph's document order; only this stack's resources (a
    stack of the same name elsewhere is another identity, see plan/planner.by_identity)."""
    steps = {step.address: step for step in graph.steps()}
    owned, _foreign = by_identity(
        with_children(provider, specset.name, provider.owned(specset.name)), specset
    )
    made = sorted(
        (
            (rec["tags"].get(TAG_SPEC, ""), rec)
            for rec in owned
            if rec["tags"].get(TAG_SPEC) in steps and steps[rec["tags"][TAG_SPEC]].kind in OUTPUT_OF
        ),
        key=lambda pair: (_index(pair[0]), pair[1]["id"].lower()),
    )
    outputs: dict[str, DocumentOutputs] = {}
    for step in graph.steps():
        if step.kind in OUTPUT_OF:
            outputs.setdefault(step.document, DocumentOutputs(step.document))
    outputs_of_captures = {graph.output_step(c.ref) for c in specset.of_kind("Capture")}
    for address, rec in made:
        step = steps[address]
        doc = outputs[step.document]
        entry = {"id": rec["id"], "name": rec["name"]}
        kind = OUTPUT_OF[step.kind]
        if kind == "managed_image" and r.is_type(rec, r.IMAGE):
            doc.managed_image = entry
        elif kind == "gallery_image_version" and r.is_type(rec, r.GALLERY_VERSION):
            full = provider.get(r.GALLERY_VERSION, rec["resource_group"], rec["name"]) or rec
            regions = full.get("properties", {}).get("regions", {})
            replication = full.get("properties", {}).get("replication", {})
            entry["replication"] = {
                region: replication.get(region) or "Unknown" for region in sorted(regions)
            }
            doc.gallery_image_version = entry
        elif kind == "snapshots" and r.is_type(rec, r.SNAPSHOT):
            doc.snapshots.append(entry)
        elif (
            kind == "restore_point"
            and address in outputs_of_captures
            and r.is_type(rec, r.RESTORE_POINT_COLLECTION)
        ):
            capture = specset.documents[step.document]
            point = provider.get(r.RESTORE_POINT, rec["resource_group"], f"{rec['name']}/{capture.name}-rp")
            if point is not None:
                doc.restore_point = {
                    "id": point["id"],
                    "name": point["name"],
                    "disk_restore_points": dict(point["properties"]["disks"]),
                }
        elif kind == "vms" and r.is_type(rec, r.VM):
            vm = provider.get(r.VM, rec["resource_group"], rec["name"]) or {}
            nic_ids = vm.get("properties", {}).get("nic_ids") or []
            entry["private_ips"] = [ip for nic in nic_ids if nic for ip in provider.private_ips(nic)]
            doc.vms.append(entry)
        elif kind == "scale_sets" and r.is_type(rec, r.VMSS):
            doc.scale_sets.append(entry)
    return [doc for doc in outputs.values() if doc.to_json()]
