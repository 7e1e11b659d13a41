"""Scale-set benchmark: the N-VM fan-out as one `mode: scaleSet` Deployment per region,
next to the same N as individual VMs, each on its own emulator.

A scale set hands the fan-out to Azure's own engine: one write instead of two per VM.
Figures: writes, simulated seconds and their ratios (VMs / scale set).

    python bench/scaleset.py [--n N] [--speed S] [--image managed|gallery] [--no-vms]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchkit import figures, specgen
from benchkit.fanoutrun import run_fanout, workdir_for

DEFAULT_N = 1000
DEFAULT_SPEED = 50.0


def compare(scale_set: dict[str, Any], vms: dict[str, Any]) -> dict[str, Any]:
    """How many times fewer writes and less simulated time the scale set needs."""
    extra: dict[str, Any] = {}
    if "error" in vms or "error" in scale_set:
        return scale_set
    if scale_set.get("writes"):
        extra["vms_writes_ratio"] = round(vms["writes"] / scale_set["writes"], 1)
    if scale_set.get("sim_seconds"):
        extra["vms_sim_seconds"] = vms["sim_seconds"]
        extra["vms_sim_ratio"] = round(vms["sim_seconds"] / scale_set["sim_seconds"], 2)
    return scale_set | extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=DEFAULT_N, help=f"instances (default {DEFAULT_N})")
    parser.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help=f"emulator speed (default {DEFAULT_SPEED:g})"
    )
    parser.add_argument("--image", choices=("managed", "gallery"), default="managed", help="default managed")
    parser.add_argument("--source", choices=("auto", "vhd", "vm"), default="auto", help="capture source")
    parser.add_argument("--no-vms", action="store_true", help="skip the individual-VM fan-out")
    parser.add_argument("--keep", type=Path, help="keep specs, logs and emulator state under this folder")
    args = parser.parse_args(argv)

    shape = specgen.FanoutShape(n=args.n, image=args.image, mode="scaleSet")
    with workdir_for(args.keep, f"scaleset-{args.image}-{args.n}") as workdir:
        scale_set = run_fanout("scaleset", shape, args.source, args.speed, workdir)
    records = [scale_set]
    if not args.no_vms:
        with workdir_for(args.keep, f"vms-{args.image}-{args.n}") as workdir:
            vms = run_fanout(
                "fanout", specgen.FanoutShape(n=args.n, image=args.image), args.source, args.speed, workdir
            )
        records = [compare(scale_set, vms), vms]
    figures.show(f"scale set vs VMs (speed {args.speed:g})", records)
    for record in records:
        print(figures.json_line(record))
    return 1 if "error" in records[0] else 0


if __name__ == "__main__":
    sys.exit(main())
