"""The full fault matrix: every example spec set under every transient fault kind at several
rates (apply must converge, then an empty plan), and every fatal case (one clear error, exit 1,
the next apply converges). Prints a row per trial and the figures.

    python scripts/fault_matrix.py [--specs learn-exercise fleet snapshot-restore] [--rates 0.05 0.2] [--seed 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import reliability_common  # first: puts tests/reliability on the path
from faults import FATAL_CASES, RETRYABLE_KINDS
from harness import EmulatorProcess, expected_outcome
from trials import fatal_trial, fault_trial

SPECS = ("learn-exercise", "fleet", "snapshot-restore")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=SPECS)
    parser.add_argument("--kinds", nargs="+", default=list(RETRYABLE_KINDS), choices=RETRYABLE_KINDS)
    parser.add_argument("--rates", nargs="+", type=float, default=[0.05, 0.2])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=1000.0)
    parser.add_argument("--no-fatal", action="store_true", help="Skip the fatal cases.")
    parser.add_argument("--no-transient", action="store_true", help="Only the fatal cases.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="imagepipe-faults-") as tmp:
        root = Path(tmp)
        expected = {s: expected_outcome(s, root / f"reference-{s}", args.speed) for s in args.specs}
        transient, fatal = [], []
        with EmulatorProcess(root / "emulator", speed=args.speed) as em:
            seed = args.seed
            for specs in [] if args.no_transient else args.specs:
                for kind in args.kinds:
                    for rate in args.rates:
                        row = fault_trial(em, specs, kind, rate, seed, root / "work", expected[specs])
                        reliability_common.print_rows("", [row])
                        transient.append(row)
                        seed += 1
            if not args.no_fatal:
                for case in FATAL_CASES:
                    if case[0] in args.specs:
                        row = fatal_trial(em, *case, root / "work", expected[case[0]])
                        reliability_common.print_rows("", [row])
                        fatal.append(row)
    reliability_common.print_rows(
        "Transient faults (apply converges, then an empty plan, no damage)", transient
    )
    reliability_common.print_rows(
        "Fatal faults (one clear error, exit 1, independent branches finish, rerun converges)", fatal
    )
    total_retries = sum(r.retries for r in transient)
    print(f"\nretries logged across the transient runs: {total_retries}")
    status = reliability_common.print_figure("transient faults survived", transient)
    if fatal:
        status |= reliability_common.print_figure("fatal faults handled", fatal)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
