"""The namePattern grammar, Azure's naming rules, the {env:} rule and the diagnostics cap."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagepipe.errors import Location, error, warning
from imagepipe.spec.budget import MAX_DIAGNOSTICS, cap_diagnostics
from imagepipe.spec.names import (
    PatternError,
    format_name,
    name_problem,
    parse_pattern,
    resource_rule,
    vm_rule,
)
from imagepipe.spec.secrets import credential_name, env_problem

CASES = Path(__file__).resolve().parents[1] / "cases"


@pytest.mark.parametrize(
    ("pattern", "index", "name"),
    [
        ("web-{index:02d}", 7, "web-07"),
        ("web-{index}", 12, "web-12"),
        ("web-{index:05d}", 999, "web-00999"),
        ("myVMFromImage", 0, "myVMFromImage"),
        ("a{index}-b{index:03d}", 4, "a4-b004"),
    ],
)
def test_the_grammar_formats_index_fields(pattern: str, index: int, name: str) -> None:
    assert format_name(pattern, index) == name


@pytest.mark.parametrize(
    "pattern",
    [
        "web-{index.__class__}",
        "a{index.__class__:d}",
        "web-{index:c}",
        "a{index:01000000}",
        "web-{index:06d}",
        "web-{index:3d}",
        "web-{index:d}",
        "web-{{index}}",
        "web-{0}",
        "web-{}",
        "web-{index!r}",
        "web-{index[0]}",
        "web-{index",
        "web-index}",
        "web-{region}",
    ],
)
def test_everything_outside_the_grammar_is_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        parse_pattern(pattern)


@pytest.mark.parametrize(
    ("name", "os_type", "problem"),
    [
        ("web-00-", "Linux", "must end with a letter or digit"),
        ("web-00.", "Linux", "must end with a letter or digit"),
        ("-web", "Linux", "must start with a letter or digit"),
        ("w" * 65, "Linux", "has 65 characters"),
        ("web-frontend-00", "Windows", None),
        ("web-frontend-000", "Windows", "has 16 characters"),
        ("web.00", "Windows", "use only letters, digits and '-'"),
        ("007", "Windows", "only digits"),
        ("web\x00\x1b", "Linux", "use only"),
        ("a..b", "Linux", None),
    ],
)
def test_vm_names_follow_azure_rules(name: str, os_type: str, problem: str | None) -> None:
    found = name_problem(name, vm_rule(os_type))
    assert (found is None) if problem is None else (problem in (found or ""))
    if found:
        assert "\x00" not in found and "\x1b" not in found


def test_resource_names_may_end_with_an_underscore_but_not_a_dash() -> None:
    assert name_problem("golden_", resource_rule()) is None
    assert "must end" in (name_problem("golden-", resource_rule()) or "")
    assert "has 81 characters" in (name_problem("g" * 81, resource_rule()) or "")


@pytest.mark.parametrize(
    "name",
    [
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ARM_CLIENT_SECRET",
        "GITHUB_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "SYSTEM_ACCESSTOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CI_JOB_TOKEN",
        "NPM_TOKEN",
        "VAULT_TOKEN",
        "IMAGEPIPE_DEPLOY_TOKEN",
        "github_token",
    ],
)
def test_credentials_are_refused_even_when_listed(name: str) -> None:
    assert credential_name(name)
    assert "credential" in (env_problem(name, (name,)) or "")
    assert "credential" in (env_problem(name, None) or "")


def test_the_stack_list_limits_which_variables_a_spec_reads() -> None:
    assert env_problem("SSH_KEY", None) is None
    assert env_problem("IMAGEPIPE_DEMO_ADMIN_PASSWORD", ()) is None
    assert env_problem("BUILD_KEY", ("BUILD_KEY",)) is None
    assert "secretEnv" in (env_problem("SSH_KEY", ("BUILD_KEY",)) or "")


def test_diagnostics_are_capped_with_a_count_of_the_rest() -> None:
    many = [error(f"problem {i}", Location("a.yaml", i + 1)) for i in range(250)]
    many += [warning("late", Location("a.yaml", 900))]
    shown = cap_diagnostics(many)
    assert len(shown) == MAX_DIAGNOSTICS + 1
    assert (
        str(shown[-1])
        == "a.yaml:101:1: error: ... and 151 more problems from here on (150 errors and 1 warning) not shown"
    )
    kept = many[200]
    assert kept in cap_diagnostics(many, [kept])


def test_690000_empty_documents_print_a_bounded_report(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("---\n" * 690_000)
    result = subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", "validate", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1
    assert len(result.stdout) < 20_000
    lines = result.stdout.splitlines()
    assert len(lines) == MAX_DIAGNOSTICS + 2
    assert "more problems from here on" in lines[-2]
    assert "too many documents" in lines[-1]


def test_a_spec_folder_that_links_to_the_filesystem_root_is_refused_before_it_is_walked(
    tmp_path: Path,
) -> None:
    (tmp_path / "specs").symlink_to("/")
    result = subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", "validate", "specs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "specs:1:1: error: the spec folder resolves to / or a system folder; name the folder that holds the specs"
    ]
