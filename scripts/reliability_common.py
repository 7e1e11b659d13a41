"""What the reliability scripts share: the harness from tests/reliability and a result table."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

from trials import Row  # noqa: E402


def print_rows(title: str, rows: Sequence[Row]) -> None:
    print(f"\n{title}")
    for row in rows:
        mark = "ok  " if row.ok else "FAIL"
        retries = f" retries={row.retries}" if row.retries else ""
        seconds = f" {row.seconds:.1f}s" if row.seconds else ""
        print(f"  {mark} {row.name}{retries}{seconds}: {row.detail}", flush=True)


def print_figure(label: str, rows: Sequence[Row]) -> int:
    """``label: passed/total`` and the exit status (0 when every row passed)."""
    passed = sum(row.ok for row in rows)
    print(f"{label}: {passed}/{len(rows)}", flush=True)
    return 0 if passed == len(rows) else 1
