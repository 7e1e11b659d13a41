"""How many VMs each image source serves, read from a spec set's step graph."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from benchkit.figures import DEPLOYMENTS_PER_IMAGE_SOURCE, ImageLoad
from imagepipe.graph import build_graph
from imagepipe.spec import load_one


def image_loads(spec_folder: Path) -> list[ImageLoad]:
    """One load per managed image, or per gallery version and region, with its replica count.

    A `vm[i]` step is one VM; a scale set's `vmss` step is its `count` instances.
    """
    specset = load_one([spec_folder])
    graph = build_graph(specset)
    vms: Counter[tuple[str, str]] = Counter()
    replicas: dict[tuple[str, str], int] = {}
    per_replica: dict[tuple[str, str], int] = {}
    regions: dict[tuple[str, str], str] = {}
    for step in graph.steps():
        if not step.document.startswith("Deployment/") or step.name not in ("vm", "vmss"):
            continue
        deployment: Any = specset.get(step.document)
        capture: Any = specset.get(deployment.image)
        if capture.gallery is not None:
            region = deployment.location_name
            key = (f"{capture.ref} gallery", region)
            targets = {t.name: t.replicas for t in capture.gallery.target_regions}
            replicas[key] = targets.get(region, 1)
            per_replica[key] = capture.gallery.vms_per_replica
        else:
            key = (f"{capture.ref} image", capture.image.name if capture.image else capture.ref)
            replicas[key] = 1
        regions[key] = deployment.location_name
        vms[key] += 1 if step.name == "vm" else deployment.count
    return [
        ImageLoad(
            f"{a} {b}", count, replicas[k], per_replica.get(k, DEPLOYMENTS_PER_IMAGE_SOURCE), regions[k]
        )
        for k, count in sorted(vms.items())
        for a, b in [k]
    ]
