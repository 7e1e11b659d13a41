"""How close the plan's estimate comes to the measured apply, on the example spec sets.

Each example (`specs/*`) is applied on a fresh emulator (`imagepipe emulator serve`,
throttling at the real rates x --speed) by `imagepipe apply <folder> --yes -o json` run as
its own process; the summary's `estimate_s` (the plan's estimate, Azure seconds) is compared
with the measured time: the process's start-up and planning in real seconds, the rest
(from its first write) multiplied by the speed. The last lines are JSON, one per example.

    python bench/estimate.py [--speed S] [--spec FOLDER]...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchkit import figures
from benchkit.emulator import EmulatorProcess
from benchkit.fanoutrun import timed_process, workdir_for
from benchkit.process import azure_seconds, last_json

EXAMPLES = Path(__file__).resolve().parents[1] / "specs"
DEFAULT_SPEED = 10.0
# The snapshot-restore example reads its VM's password from the environment; any value the
# emulator accepts does for a benchmark (it never leaves this machine).
EXAMPLE_ENV = {"IMAGEPIPE_DEMO_ADMIN_PASSWORD": "Bench-0nly-Passw0rd!"}


def measure(folder: Path, speed: float, workdir: Path) -> dict[str, Any]:
    record: dict[str, Any] = {"bench": "estimate", "spec": folder.name}
    with EmulatorProcess(workdir / "emulator", speed) as emulator:
        emulator.env.update(EXAMPLE_ENV)
        log = workdir / "logs" / f"{folder.name}.log"
        run, counts, first_write_at = timed_process(
            ["apply", str(folder), "--yes", "-o", "json"], emulator, log
        )
    client_s, azure_s = azure_seconds(run, first_write_at, speed)
    summary = last_json(log)
    if not run.ok or "estimate_s" not in summary:
        return record | {"error": run.describe_failure()}
    estimate = summary["estimate_s"]
    return (
        record
        | {
            "speed": speed,
            "wall_seconds": round(run.wall_seconds, 2),
            "client_seconds_before_first_write": round(client_s, 2),
            "measured_seconds": round(azure_s, 1),
            "estimate_seconds": estimate,
            "estimate_error": round(estimate / azure_s - 1, 3),
            "throttled": counts.throttled,
            "writes": counts.writes,
            "reads": counts.reads,
        }
        | figures.machine_fields()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help=f"emulator speed (default {DEFAULT_SPEED:g})"
    )
    parser.add_argument("--spec", type=Path, action="append", help="a spec folder (default: every example)")
    parser.add_argument("--keep", type=Path, help="keep logs and emulator state under this folder")
    args = parser.parse_args(argv)
    folders = args.spec or sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    records = []
    for folder in folders:
        with workdir_for(args.keep, f"estimate-{folder.name}") as workdir:
            records.append(measure(folder.resolve(), args.speed, workdir))
    figures.show(f"the plan's estimate against the measured apply (speed {args.speed:g})", records)
    for record in records:
        print(figures.json_line(record))
    return 1 if any("error" in r for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
