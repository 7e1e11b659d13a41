"""How many VMs each image source serves, read from a spec set's step graph."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from benchkit.figures import ImageLoad
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
        else:
            key = (f"{capture.ref} image", capture.image.name if capture.image else capture.ref)
            replicas[key] = 1
        vms[key] += 1 if step.name == "vm" else deployment.count
    return [ImageLoad(f"{a} {b}", count, replicas[(a, b)]) for (a, b), count in sorted(vms.items())]
