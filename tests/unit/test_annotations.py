"""Diagnostics as CI annotations: GitHub's workflow commands and Azure DevOps' logging commands,
paths relative to the repository root, at most 10 of each kind on GitHub, values escaped."""

from __future__ import annotations

from pathlib import Path

from imagepipe.errors import Location, Note, error, warning
from imagepipe.render.annotations import annotation_lines, detect


def test_auto_follows_the_ci_variables() -> None:
    assert detect("auto", {"GITHUB_ACTIONS": "true"}) == "github"
    assert detect("auto", {"TF_BUILD": "True"}) == "azure-devops"
    assert detect("auto", {}) == "none"
    assert detect("none", {"GITHUB_ACTIONS": "true"}) == "none"
    assert detect("azure-devops", {"GITHUB_ACTIONS": "true"}) == "azure-devops"


def test_github_commands_name_the_file_relative_to_the_workspace(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "web" / "capture.yaml"
    diagnostics = [
        error("spec.source: unknown reference SourceVM/x", Location(str(spec), 7, 11)),
        warning("spec.size: Standard_A0 is retired", Location(str(spec), 9, 3)),
    ]
    lines = annotation_lines(diagnostics, "github", {"GITHUB_WORKSPACE": str(tmp_path)})
    assert lines == [
        "::error file=specs/web/capture.yaml,line=7,col=11,title=imagepipe::spec.source: unknown reference SourceVM/x",
        "::warning file=specs/web/capture.yaml,line=9,col=3,title=imagepipe::spec.size: Standard_A0 is retired",
    ]


def test_github_shows_ten_of_each_kind_and_a_notice_counts_the_rest() -> None:
    errors = [error(f"problem {i}", Location("a.yaml", i, 1)) for i in range(1, 14)]
    warnings = [warning(f"careful {i}", Location("b.yaml", i, 1)) for i in range(1, 12)]
    lines = annotation_lines(errors + warnings, "github", {"GITHUB_WORKSPACE": "/nowhere"})
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert (
        lines[-1] == "::notice title=imagepipe::3 more errors and 1 more warnings not annotated: see the log"
    )


def test_azure_devops_logissue_with_every_diagnostic(tmp_path: Path) -> None:
    diagnostics = [
        error(f"bad {i}; really", Location(str(tmp_path / "s" / "x.yaml"), i, 2)) for i in range(1, 13)
    ]
    lines = annotation_lines(diagnostics, "azure-devops", {"BUILD_SOURCESDIRECTORY": str(tmp_path)})
    assert len(lines) == 12  # no per-step limit there
    assert (
        lines[0]
        == "##vso[task.logissue type=error;sourcepath=s/x.yaml;linenumber=1;columnnumber=2]bad 1%3B really"
    )


def test_values_cannot_end_the_command_or_start_another() -> None:
    message = "name 'a]b;c' 100%\n::add-mask::x\r##vso[task.setvariable variable=v]1 ##[error]x"
    diagnostic = error(
        message,
        Location("dir,with:odd/x.yaml", 1, 1),
        notes=(Note("started here", Location("y.yaml", 2, 3)),),
    )
    github = annotation_lines([diagnostic], "github", {"GITHUB_WORKSPACE": "/nowhere"})
    assert len(github) == 1 and "\n" not in github[0] and "\r" not in github[0]
    assert "file=dir%2Cwith%3Aodd/x.yaml," in github[0]
    assert "100%25\\x0a::add-mask" in github[0]  # the newline is shown, never a new line
    assert "##vso[" not in github[0] and "##[" not in github[0]
    assert github[0].endswith("%0Ay.yaml:2:3: note: started here")
    ado = annotation_lines([diagnostic], "azure-devops", {"BUILD_SOURCESDIRECTORY": "/nowhere"})
    assert len(ado) == 1 and "\n" not in ado[0]
    assert "a%5Db%3Bc" in ado[0] and ado[0].count("##vso[") == 1
