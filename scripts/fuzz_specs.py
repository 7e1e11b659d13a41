"""A longer fuzz run of the spec loader, and the hostile-input corpus through the CLI.

    python scripts/fuzz_specs.py --seconds 300      # hypothesis properties, randomized
    python scripts/fuzz_specs.py --corpus           # every tests/cases case in a capped child process

Prints the examples run and the failures found (with the falsifying example);
exits 1 when anything failed. The properties are those of
tests/unit/test_fuzz_specs.py, which CI runs for a few seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _runner(name: str, body: Any, counts: dict[str, int], scratch: Path) -> Any:
    def run(value: Any) -> None:
        counts[name] += 1
        folder = scratch / f"{name}-{counts[name]}"
        folder.mkdir()
        body(folder, value)

    return run


def fuzz(seconds: float, batch: int) -> int:
    properties = _load(ROOT / "tests" / "unit" / "test_fuzz_specs.py", "fuzz_properties").PROPERTIES
    counts = dict.fromkeys(properties, 0)
    failures: dict[str, str] = {}  # a failing property stops; its shrunk example is reported
    deadline = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as scratch:
        while time.monotonic() < deadline and len(failures) < len(properties):
            for name, (strategy, body) in properties.items():
                if time.monotonic() >= deadline or name in failures:
                    continue
                test = settings(
                    max_examples=batch,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )(given(strategy)(_runner(name, body, counts, Path(scratch))))
                try:
                    test()
                except Exception as exc:  # the property failed: hypothesis has shrunk the example
                    failures[name] = "".join(traceback.format_exception(exc))[-3000:]
    total = sum(counts.values())
    print(f"fuzz: {total} examples in {seconds:.0f} s, {len(failures)} failures")
    for name, count in counts.items():
        print(f"  {name}: {count} examples")
    for name, failure in failures.items():
        print(f"FAILURE {name}:\n{failure}")
    return 1 if failures else 0


def corpus(workers: int) -> int:
    recipes = _load(ROOT / "tests" / "security" / "case_recipes.py", "case_recipes")
    cases = sorted(p for p in (ROOT / "tests" / "cases").iterdir() if (p / recipes.EXPECTED).is_file())
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(lambda case: recipes.run_case_cli(case, Path(scratch)), cases))
    bad = [(run.name, run.problems()) for run in runs if run.problems()]
    refused = sum(1 for run in runs if run.returncode == 1)
    print(
        f"corpus: {len(runs)} cases through the CLI (1 GiB address space, 60 s timeout) in "
        f"{time.monotonic() - started:.0f} s: {refused} refused with exit 1, "
        f"{len(runs) - refused - len(bad)} valid with exit 0, {len(bad)} mishandled"
    )
    for name, problems in bad:
        print(f"MISHANDLED {name}: {'; '.join(problems)}")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--batch", type=int, default=200, help="examples per property per round")
    parser.add_argument(
        "--corpus", action="store_true", help="run the tests/cases corpus through the CLI instead"
    )
    parser.add_argument("--workers", type=int, default=4, help="child processes at once for --corpus")
    args = parser.parse_args()
    return corpus(args.workers) if args.corpus else fuzz(args.seconds, args.batch)


if __name__ == "__main__":
    sys.exit(main())
