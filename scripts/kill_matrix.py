"""SIGKILL `imagepipe apply` at random moments (and kill-and-restart the emulator mid-run) across
the example spec sets; after each, one more apply must converge: the inventory of an undisturbed
run, no duplicate, no temporary left, no second deprovision or generalize, preserved sources
unchanged. Prints a row per kill and the figures.

    python scripts/kill_matrix.py [--points 20] [--seed 7] [--speed 150]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import reliability_common  # first: puts tests/reliability on the path
from harness import EmulatorProcess, expected_outcome, run_cli
from trials import fresh, kill_trial

SPECS = ("learn-exercise", "fleet", "snapshot-restore")


def undisturbed_seconds(em: EmulatorProcess, specs: str, work: Path) -> float:
    """How long an undisturbed apply takes at this speed: kills land inside that window."""
    from harness import copy_specs

    fresh(em, work)
    folder = copy_specs(specs, work)
    started = time.monotonic()
    done = run_cli(em, "apply", str(folder), "--yes", cwd=work)
    if done.returncode != 0:
        raise SystemExit(f"undisturbed apply of {specs} failed:\n{done.stdout[-2000:]}{done.stderr}")
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=150.0)
    parser.add_argument(
        "--restarts", type=int, default=3, help="How many of the points restart the emulator."
    )
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=SPECS)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    rows = []
    with tempfile.TemporaryDirectory(prefix="imagepipe-kills-") as tmp:
        root = Path(tmp)
        expected = {s: expected_outcome(s, root / f"reference-{s}", 1000.0) for s in args.specs}
        with EmulatorProcess(root / "emulator", speed=args.speed) as em:
            window = {s: undisturbed_seconds(em, s, root / "work") for s in args.specs}
            print("undisturbed apply: " + ", ".join(f"{s} {t:.1f}s" for s, t in window.items()), flush=True)
            restarts = set(rng.sample(range(args.points), min(args.restarts, args.points)))
            for point in range(args.points):
                specs = args.specs[point % len(args.specs)]
                at = rng.uniform(0.2, 0.95) * window[specs]
                row = kill_trial(em, specs, at, point in restarts, root / "work", expected[specs])
                reliability_common.print_rows("", [row])
                rows.append(row)
    reliability_common.print_rows("Kills (each followed by one more apply)", rows)
    landed = sum(r.extra.get("landed") == "True" for r in rows)
    print(f"\nkills that landed mid-run: {landed}/{len(rows)}")
    return reliability_common.print_figure("kills survived", rows)


if __name__ == "__main__":
    raise SystemExit(main())
