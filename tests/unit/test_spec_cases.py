"""Golden negative (and edge) cases: each folder under tests/cases is a small spec
set plus expected.txt, the exact diagnostic lines with paths relative to it."""

from pathlib import Path

import pytest

from imagepipe.spec import load_spec_sets

CASES = Path(__file__).resolve().parents[1] / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.txt").is_file())


def test_there_are_enough_cases() -> None:
    assert len(CASE_NAMES) >= 30


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_reports_exactly_the_expected_diagnostics(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / name
    monkeypatch.chdir(folder)
    results = load_spec_sets([Path(".")])
    lines = [str(d) for r in results for d in r.diagnostics]
    expected = (folder / "expected.txt").read_text().splitlines()
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
