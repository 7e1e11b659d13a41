"""Hostile spec input through the real CLI: a child process per case, capped at 1 GiB of
address space and a timeout, must exit 1 (0 for the few valid cases) with exactly the
expected located one-line diagnostics and no traceback.

Every case runs in-process in tests/unit/test_spec_cases.py; here run the dangerous
ones (bombs, odd files, encodings, code-executing tags, secret paths) and a sample of
the rest. `python scripts/fuzz_specs.py --corpus` runs every case this way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from case_recipes import EXPECTED, LOCATED, run_case_cli

CASES = Path(__file__).resolve().parents[1] / "cases"
ALL = sorted(p for p in CASES.iterdir() if (p / EXPECTED).is_file())
DANGEROUS_PREFIXES = (
    "bomb-",
    "fs-",
    "encoding-",
    "secret-file-",
    "yaml-python-",
    "yaml-alias",
    "binary",
    "non-utf8",
)
SAMPLE_EVERY = 20  # one in twenty of the other cases
# The default run: one case of each dangerous kind (the slow suite runs them all and the sample).
ONE_OF_EACH = (
    "bomb-recursive-alias",
    "bomb-huge-file",
    "fs-symlink-loop-folder",
    "fs-unreadable-file",
    "encoding-utf16",
    "secret-file-parent-escape",
    "yaml-python-object-tag",
    "yaml-alias-bomb",
    "binary-file",
    "non-utf8-file",
)


def _selected() -> list[Path]:
    dangerous = [p for p in ALL if p.name.startswith(DANGEROUS_PREFIXES)]
    others = [p for p in ALL if p not in dangerous]
    return dangerous + others[::SAMPLE_EVERY]


def test_the_corpus_is_large_and_every_expected_line_is_located() -> None:
    assert len(ALL) >= 150
    for case in ALL:
        lines = (case / EXPECTED).read_text(encoding="utf-8").splitlines()
        assert all(LOCATED.match(line) for line in lines), case.name


def _refused_cleanly(cases: list[Path], scratch: Path) -> dict[str, list[str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:  # child processes: the threads only wait
        runs = list(pool.map(lambda case: run_case_cli(case, scratch), cases))
    return {run.name: run.problems() for run in runs if run.problems()}


def test_one_case_of_each_dangerous_kind_is_refused_cleanly_by_the_cli(tmp_path: Path) -> None:
    cases = [CASES / name for name in ONE_OF_EACH]
    assert all(case in _selected() for case in cases)
    assert _refused_cleanly(cases, tmp_path) == {}


@pytest.mark.slow
def test_dangerous_and_sampled_cases_are_refused_cleanly_by_the_cli(tmp_path: Path) -> None:
    cases = _selected()
    assert len(cases) >= 40
    assert _refused_cleanly(cases, tmp_path) == {}
