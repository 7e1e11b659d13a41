"""No-op plan benchmark: `imagepipe plan` right after an N-VM apply (default 1,000).

Set-up (not timed): the capture and the fan-out applied on a fresh emulator. Timed:
`imagepipe plan <specs> --detailed-exitcode`, which must find nothing to change.
Figures: reads, writes (must be 0), wall time, and whether the plan was empty.

    python bench/noop.py [--n N] [--speed S] [--image managed|gallery]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchkit import figures, specgen
from benchkit.emulator import EmulatorProcess
from benchkit.fanoutrun import Prepared, prepare_capture, timed_command, wait_for_full_buckets, workdir_for
from benchkit.runcli import run_imagepipe

DEFAULT_N = 1000
DEFAULT_SPEED = 100.0
EXIT_CHANGES_PENDING = 2  # plan --detailed-exitcode


def plan_record(
    prepared: Prepared, speed: float, emulator: EmulatorProcess, workdir: Path, profile: Path | None = None
) -> dict[str, Any]:
    shape = prepared.shape
    record: dict[str, Any] = {"bench": "noop", "n": shape.n, "image": shape.image}
    if prepared.specs is None:
        return record | {"error": prepared.error}
    folder = str(prepared.specs.fanout)
    setup = run_imagepipe(["apply", folder, "--yes"], emulator.env, workdir / "logs" / "noop-setup.log")
    if not setup.ok:
        return record | {"error": "set-up: " + setup.describe_failure()}
    wait_for_full_buckets(speed)
    result, counts = timed_command(
        ["plan", folder, "--detailed-exitcode"], emulator, workdir / "logs" / "noop-plan.log", profile
    )
    # No Azure-side floor for a plan: the lower bound and efficiency do not apply.
    record |= figures.timing_fields(result.wall_seconds, speed, 0.0) | figures.request_fields(counts)
    record |= {
        "lower_bound_seconds": None,
        "efficiency": None,
        "setup_sim_seconds": round(setup.wall_seconds * speed, 1),
    }
    record |= figures.machine_fields() | {"client_cpu_seconds": round(result.cpu_seconds, 2)}
    record["changes_pending"] = result.exit_code == EXIT_CHANGES_PENDING
    record["requests_by_operation"] = counts.operations
    if result.exit_code not in (0, EXIT_CHANGES_PENDING):
        record["error"] = result.describe_failure()
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=DEFAULT_N, help=f"VMs applied before the plan (default {DEFAULT_N})"
    )
    parser.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help=f"emulator speed (default {DEFAULT_SPEED:g})"
    )
    parser.add_argument("--image", choices=("managed", "gallery"), default="managed", help="default managed")
    parser.add_argument("--source", choices=("auto", "vhd", "vm"), default="auto", help="capture source")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the plan to this file")
    parser.add_argument("--keep", type=Path, help="keep specs, logs and emulator state under this folder")
    args = parser.parse_args(argv)

    shape = specgen.FanoutShape(n=args.n, image=args.image)
    with (
        workdir_for(args.keep, f"noop-{args.image}-{args.n}") as workdir,
        EmulatorProcess(workdir / "emulator", args.speed) as emulator,
    ):
        prepared = prepare_capture(shape, args.source, workdir, emulator)
        record = plan_record(prepared, args.speed, emulator, workdir, args.profile)
    figures.show("no-op plan after a fan-out", [record])
    print(figures.json_line(record))
    return 1 if "error" in record else 0


if __name__ == "__main__":
    sys.exit(main())
