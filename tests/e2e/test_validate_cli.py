"""`imagepipe validate` as a user runs it: exit codes, located lines, summary, JSON."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import Ran, invoke_cli

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "cases"
# validate asks click for its stdout stream (deprecated in click 8.2), seen only in-process.
pytestmark = pytest.mark.filterwarnings("ignore:'get_text_stream' is deprecated:DeprecationWarning")


def run(*args: str, cwd: Path = ROOT) -> Ran:
    return invoke_cli(*args, cwd=cwd)


def run_child(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", *args], cwd=cwd, capture_output=True, text=True
    )


def test_examples_are_valid() -> None:
    result = run_child("validate", "specs/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.strip() == "valid: 4 spec sets, 18 documents; 0 errors, 0 warnings"


def test_every_problem_located_and_sorted_with_exit_1() -> None:
    result = run("validate", ".", cwd=CASES / "many-problems-in-one-run")
    assert result.returncode == 1
    assert (
        result.stdout.splitlines()
        == (CASES / "many-problems-in-one-run" / "expected.txt").read_text().splitlines()
    )
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "invalid: 1 spec set, 5 documents; 4 errors, 0 warnings"


def test_paths_are_relative_to_the_current_directory() -> None:
    result = run("validate", "tests/cases/dangling-reference")
    assert result.returncode == 1
    assert result.stdout.startswith(
        "tests/cases/dangling-reference/specs.yaml:33:10: error: spec.image: unknown reference"
    )


def test_warnings_alone_exit_0() -> None:
    result = run("validate", "tests/cases/managed-image-count-warning")
    assert result.returncode == 0
    assert ": warning: spec.count: 45 VMs from one managed image" in result.stdout
    assert "0 errors, 1 warning" in result.stderr


def test_missing_path_is_a_usage_error_exit_1() -> None:
    result = run("validate", "no/such/folder")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no such file or directory: no/such/folder"
    assert run("validate").returncode == 1


def test_json_output(tmp_path: Path) -> None:
    shutil.copytree(CASES / "literal-password", tmp_path / "case")
    result = run("validate", "-o", "json", "case", cwd=tmp_path)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    (diagnostic,) = payload["diagnostics"]
    assert (diagnostic["file"], diagnostic["line"], diagnostic["col"]) == ("case/specs.yaml", 18, 20)
    assert diagnostic["severity"] == "error"
    assert diagnostic["message"].startswith(
        "spec.create.adminPassword: must be a secret reference, {env: VAR} or {file: PATH}"
    )
    assert "Hunter2" not in result.stdout + result.stderr
    assert payload["stacks"][0]["name"] == "case" and payload["stacks"][0]["valid"] is False


def test_json_output_for_valid_examples() -> None:
    result = run("validate", "-o", "json", "specs")
    payload = json.loads(result.stdout)
    assert payload["valid"] is True and payload["diagnostics"] == []
    assert {s["name"] for s in payload["stacks"]} == {
        "fleet",
        "learn-exercise",
        "snapshot-restore",
        "trusted-launch",
    }


def test_binary_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "blob.yaml").write_bytes(bytes(range(256)))
    result = run_child("validate", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "blob.yaml:1:1: error: binary file, not YAML text\n"
