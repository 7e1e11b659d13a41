"""Golden negative (and edge) cases: each folder under tests/cases is a small spec
set plus expected.txt, the exact diagnostic lines with paths relative to it."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from imagepipe.spec import load_spec_sets

CASES = Path(__file__).resolve().parents[1] / "cases"
# Files git cannot hold (symlink loops, FIFOs, unreadable files) come from a case's recipe.json.
if "case_recipes" not in sys.modules:  # tests/security may have imported it already
    _spec = importlib.util.spec_from_file_location(
        "case_recipes", CASES.parent / "security" / "case_recipes.py"
    )
    sys.modules["case_recipes"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["case_recipes"])
recipes = sys.modules["case_recipes"]
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.txt").is_file())


def test_there_are_enough_cases() -> None:
    assert len(CASE_NAMES) >= 150


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_reports_exactly_the_expected_diagnostics(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = CASES / name
    expected = (folder / "expected.txt").read_text().splitlines()
    work = recipes.materialize(folder, tmp_path / name) if recipes.recipe(folder) else folder
    try:
        if recipes.needs_other_user(folder):  # root reads any file: validate without its capabilities
            result = subprocess.run(
                [sys.executable, "-m", "imagepipe.cli.main", "validate", "."],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=60,
                preexec_fn=recipes.drop_capabilities,
            )
            assert result.stdout.splitlines() == expected
            return
        monkeypatch.chdir(work)
        results = load_spec_sets([Path(".")])
    finally:
        if work != folder:
            recipes.cleanup_modes(folder, work)
    lines = [line for r in results for d in r.diagnostics for line in str(d).splitlines()]
    assert lines == expected
    # Whether the set is usable follows from the severities alone.
    has_errors = any(": error: " in line for line in expected)
    assert all(r.specset is None for r in results) is has_errors


def test_a_literal_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = (
        "literal-password",
        "literal-ssh-key",
        "literal-secret-in-unknown-field",
        "invalid-document-still-checked",
    )
    for name in cases:
        monkeypatch.chdir(CASES / name)
        text = "\n".join(str(d) for r in load_spec_sets([Path(".")]) for d in r.diagnostics)
        assert "secret reference" in text or "adminPasword" in text
        assert "Hunter2" not in text and "AAAAC3" not in text and "P@ssw0rd" not in text
