"""Concurrent runs: two `apply` of one stack at once (each succeeds or says another run holds
the stack; no duplicate, one deprovision and generalize), and `destroy` of one stack while
another stack applies in the same resource group (neither touches the other's resources).
Prints a row per race and the figures.

    python scripts/concurrent_runs.py [--rounds 3] [--speed 150]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import reliability_common  # first: puts tests/reliability on the path
from harness import EmulatorProcess, expected_outcome
from trials import race_apply_destroy, race_same_stack

SPECS = ("learn-exercise", "fleet", "snapshot-restore")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed", type=float, default=150.0)
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=SPECS)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="imagepipe-races-") as tmp:
        root = Path(tmp)
        expected = {s: expected_outcome(s, root / f"reference-{s}", 1000.0) for s in args.specs}
        with EmulatorProcess(root / "emulator", speed=args.speed) as em:
            for _ in range(args.rounds):
                for specs in args.specs:
                    row = race_same_stack(em, specs, root / "work", expected[specs])
                    reliability_common.print_rows("", [row])
                    rows.append(row)
                row = race_apply_destroy(em, root / "work")
                reliability_common.print_rows("", [row])
                rows.append(row)
    reliability_common.print_rows("Concurrent runs", rows)
    return reliability_common.print_figure("concurrent runs without damage", rows)


if __name__ == "__main__":
    raise SystemExit(main())
