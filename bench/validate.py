"""Validate benchmark: load, validate and build the graph of a generated 10,000-step spec set.

In process, through the documented entry points `imagepipe.spec.load_one` (schema,
references, domain rules) and `imagepipe.graph.build_graph`. The timed pass is the
first (cold) one; peak memory is measured by tracemalloc on a second pass (tracing
slows Python down, so it is kept out of the timing) and by the process's peak RSS.

    python bench/validate.py [--steps N]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchkit import figures, specgen

from imagepipe.errors import SpecError
from imagepipe.graph import build_graph
from imagepipe.spec import load_one

DEFAULT_STEPS = 10_000
MIB = 1024 * 1024


def validate_and_graph(folder: Path) -> int:
    """The steps of the spec set's graph."""
    return len(build_graph(load_one([folder])))


def measure(folder: Path) -> dict[str, Any]:
    gc.collect()
    started, cpu_started = time.perf_counter(), time.process_time()
    steps = validate_and_graph(folder)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    gc.collect()
    tracemalloc.start()
    validate_and_graph(folder)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "steps": steps,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_traced_mb": round(peak / MIB, 1),
        "max_rss_mb": round(max_rss_mb, 1),
    }


def record_for(shape: specgen.LargeShape, folder: Path) -> dict[str, Any]:
    record: dict[str, Any] = {
        "bench": "validate",
        "n": shape.steps,
        "documents": 1 + 2 * shape.captures + len(shape.vm_counts),
    }
    try:
        record |= measure(folder)
    except SpecError as error:
        return record | {"error": f"the generated specs are invalid: {error}"}
    # No emulator and no Azure floor: simulated time and the lower bound do not apply.
    return (
        record
        | figures.machine_fields()
        | {
            "sim_seconds": None,
            "lower_bound_seconds": None,
            "efficiency": None,
            "reads": 0,
            "writes": 0,
            "throttled": 0,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps",
        "--n",
        type=int,
        default=DEFAULT_STEPS,
        help=f"steps in the graph (default {DEFAULT_STEPS:,})",
    )
    parser.add_argument(
        "--deployments", type=int, default=100, help="Deployments the VMs are spread over (default 100)"
    )
    args = parser.parse_args(argv)
    shape = specgen.large_shape(args.steps, captures=10, deployments=args.deployments)
    with tempfile.TemporaryDirectory(prefix="imagepipe-bench-validate-") as tmp:
        record = record_for(shape, specgen.write_large_spec_set(Path(tmp) / "specs", shape))
    figures.show("validate + graph", [record])
    print(figures.json_line(record))
    return 1 if "error" in record else 0


if __name__ == "__main__":
    sys.exit(main())
