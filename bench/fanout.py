"""Fan-out benchmark: N VMs from a managed image, or from a gallery version in two regions.

Each run starts its own emulator (`imagepipe emulator serve`, throttling at the real
rates x --speed), applies the capture (not timed), then times
`imagepipe apply <specs> --yes` creating the N VMs. Figures: wall and simulated
seconds, the lower bound Azure allows, efficiency, requests by kind, 429s and the
emulator's request latency. The last lines are JSON, one per run.

    python bench/fanout.py [--n N] [--speed S] [--image managed|gallery] [--compare-naive]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import naive
from benchkit import figures, specgen
from benchkit.fanoutrun import run_fanout, workdir_for

DEFAULT_SIZES = (100, 1000)
DEFAULT_SPEED = 50.0


def parse_args(argv: list[str] | None, description: str | None = __doc__) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, action="append", help="VMs to create (repeatable; default 100 and 1000)"
    )
    parser.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help=f"emulator speed (default {DEFAULT_SPEED:g})"
    )
    parser.add_argument(
        "--image",
        choices=("managed", "gallery"),
        action="append",
        help="image kind (repeatable; default both)",
    )
    parser.add_argument(
        "--source",
        choices=("auto", "vhd", "vm"),
        default="auto",
        help="capture source: a SourceVHD, a SourceVM built from the marketplace, or auto (VHD if the engine captures it)",
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        help="pass --parallelism to imagepipe apply (default: the engine's default)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        help="gallery replicas per region (default: enough for one round of creates, ceil(N / 2 / 20);"
        " fewer makes the replicas, not the write bucket, bound the fan-out)",
    )
    parser.add_argument("--compare-naive", action="store_true", help="also run naive.py on the same sizes")
    parser.add_argument(
        "--profile", type=Path, help="write a pyinstrument profile of each timed apply under this folder"
    )
    parser.add_argument("--keep", type=Path, help="keep specs, logs and emulator state under this folder")
    return parser.parse_args(argv)


def with_ratio(record: dict[str, Any], naive_record: dict[str, Any]) -> dict[str, Any]:
    """naive sim seconds / imagepipe sim seconds: how many times faster imagepipe is."""
    if record.get("sim_seconds") and naive_record.get("sim_seconds") and "error" not in naive_record:
        return record | {
            "naive_sim_seconds": naive_record["sim_seconds"],
            "speedup_vs_naive": round(naive_record["sim_seconds"] / record["sim_seconds"], 2),
        }
    return record


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    records: list[dict[str, Any]] = []
    naive_records: list[dict[str, Any]] = []
    for image in args.image or ["managed", "gallery"]:
        for n in args.n or list(DEFAULT_SIZES):
            shape = specgen.FanoutShape(n=n, image=image, replicas_per_region=args.replicas)
            label = f"{image}-{n}" + (f"-r{args.replicas}" if args.replicas else "")
            with workdir_for(args.keep, label) as workdir:
                profile = args.profile / f"fanout-{label}.txt" if args.profile else None
                record = run_fanout(
                    "fanout", shape, args.source, args.speed, workdir, profile, args.parallelism
                )
                if args.compare_naive:
                    used = specgen.FanoutShape(
                        n=n,
                        image=image,
                        source=record.get("capture_source", "vm"),
                        replicas_per_region=args.replicas,
                    )
                    naive_record = naive.measure_naive(used, args.speed, workdir / "naive")
                    naive_records.append(naive_record)
                    record = with_ratio(record, naive_record)
                records.append(record)
    figures.show(f"imagepipe fan-out (speed {args.speed:g})", records + naive_records)
    for record in records + naive_records:
        print(figures.json_line(record))
    return 1 if any("error" in r for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
