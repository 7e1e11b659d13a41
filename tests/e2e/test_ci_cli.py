"""The CLI as a CI job runs it: GitHub Actions (GITHUB_ACTIONS=true, a step summary file) and
Azure DevOps (TF_BUILD=True): annotations on the specs' lines, the job summary, the comment."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import requests
from cli_run import REPO, endpoint_env, invoke_cli, workdir_with_specs

from imagepipe.emulator import start_emulator
from imagepipe.render.json_plan import plan_document_problem

BROKEN_DOCUMENT = """apiVersion: imagepipe/v1
kind: Capture
metadata: {{name: c{index}}}
spec:
  source: SourceVM/missing{index}
  type: generalized
"""


def broken_specs(work: Path, documents: int) -> None:
    folder = work / "specs" / "broken"
    folder.mkdir(parents=True)
    half = documents // 2
    for name, indexes in (("a.yaml", range(half)), ("b.yaml", range(half, documents))):
        (folder / name).write_text("---\n".join(BROKEN_DOCUMENT.format(index=i) for i in indexes))


def located(stderr: str) -> list[tuple[str, str, str]]:
    """(file, line, col) of each `file:line:col: error:` line the CLI printed."""
    return re.findall(r"^(\S+?):(\d+):(\d+): error:", stderr, re.MULTILINE)


def github_env(work: Path, summary: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_STEP_SUMMARY": str(summary),
        "TF_BUILD": "",
    }


def test_github_annotations_name_file_and_line_ten_at_most_and_the_summary_has_all(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    broken_specs(work, 12)
    summary = tmp_path / "summary.md"
    result = invoke_cli("plan", "specs/broken", "--target", "azure", cwd=work, env=github_env(work, summary))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = located(result.stderr)
    assert len(errors) == 12
    annotations = re.findall(
        r"^::error file=([^,]+),line=(\d+),col=(\d+),title=imagepipe::(.*)$", result.stdout, re.MULTILINE
    )
    assert [(f, line, col) for f, line, col, _ in annotations] == errors[:10]
    assert all(f.startswith("specs/broken/") for f, *_ in annotations)  # relative to the workspace
    assert "::notice title=imagepipe::2 more errors not annotated: see the log" in result.stdout
    text = summary.read_text()
    assert "**Invalid specs:** 12 errors" in text
    assert all(f"{f}:{line}:{col}: error:" in text for f, line, col in errors)


def test_azure_devops_logissue_and_uploaded_summary(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    broken_specs(work, 4)
    agent_temp = tmp_path / "agent"
    agent_temp.mkdir()
    env = {
        "TF_BUILD": "True",
        "BUILD_SOURCESDIRECTORY": str(work),
        "AGENT_TEMPDIRECTORY": str(agent_temp),
        "GITHUB_ACTIONS": "",
        "GITHUB_STEP_SUMMARY": "",
    }
    result = invoke_cli("validate", "specs/broken", cwd=work, env=env)
    assert result.returncode == 1
    issues = re.findall(
        r"^##vso\[task\.logissue type=error;sourcepath=([^;]+);linenumber=(\d+);columnnumber=(\d+)\]",
        result.stdout,
        re.MULTILINE,
    )
    assert issues == located(result.stdout)
    assert len(issues) == 4
    upload = re.search(r"^##vso\[task\.uploadsummary\](.+)$", result.stdout, re.MULTILINE)
    assert upload is not None
    uploaded = Path(upload[1])
    assert uploaded.is_absolute() and uploaded.parent == agent_temp and "4 errors" in uploaded.read_text()


def test_annotations_none_prints_no_command(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    broken_specs(work, 2)
    env = github_env(work, tmp_path / "summary.md")
    result = invoke_cli("validate", "specs/broken", "--annotations", "none", cwd=work, env=env)
    assert result.returncode == 1 and "::error" not in result.stdout + result.stderr


def test_plan_comment_json_and_apply_summary_in_a_github_job(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("written by an earlier command of the step\n")
    with start_emulator(tmp_path / "state", speed=1000, throttling=False) as em:
        env = {
            **endpoint_env(em),
            **github_env(work, summary),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "contoso/images",
            "GITHUB_RUN_ID": "42",
        }
        comment = invoke_cli(
            "plan", "specs/learn-exercise", "-o", "markdown", "--out", "plan.json", cwd=work, env=env
        )
        assert comment.returncode == 0, comment.stderr
        assert comment.stdout.startswith("<!-- imagepipe:plan stack=learn-exercise -->\n")
        assert "**Plan: 6 to create, 0 to change, 0 to replace, 0 to delete, 4 actions.**" in comment.stdout
        assert not re.search(r"^(::|##vso)", comment.stdout, re.MULTILINE)  # the comment carries no command
        text = summary.read_text()
        assert text.startswith("written by an earlier command of the step\n")  # appended, never replaced
        assert "<!-- imagepipe:plan stack=learn-exercise -->" in text and "Plan: 6 to create" in text

        as_json = invoke_cli("plan", "specs/learn-exercise", "-o", "json", cwd=work, env=env)
        document = json.loads(as_json.stdout)
        assert plan_document_problem(document) is None
        assert document["headline"] == "Plan: 6 to create, 0 to change, 0 to replace, 0 to delete, 4 actions."
        assert summary.read_text().count("<!-- imagepipe:plan") == 1  # a policy tool's run adds no summary

        applied = invoke_cli("apply", "plan.json", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr
        text = summary.read_text()
        assert "<!-- imagepipe:apply stack=learn-exercise -->" in text
        assert "**Applied: 6 created, 0 changed, 0 deleted, 4 actions, 0 failed**" in text
        assert "| Capture/my-image | 1 | 0 | 0 | 3 | 0 | 0 |" in text

        again = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0, again.stdout  # nothing pending after the apply

        stale = invoke_cli("plan", "specs/learn-exercise", "--out", "old.json", cwd=work, env=env)
        assert stale.returncode == 0
        spec = work / "specs" / "learn-exercise" / "learn-exercise.yaml"
        spec.write_text(spec.read_text() + "\n# edited after the review\n")
        refused = invoke_cli("apply", "old.json", cwd=work, env=env)
        assert refused.returncode == 1
        assert "**Refused:** the specs changed since the plan was made" in summary.read_text()


def test_plan_annotates_the_spec_sets_warnings_on_their_lines(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    folder = work / "specs" / "warned"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "cases" / "ignored-capture-options" / "specs.yaml", folder / "specs.yaml")
    key = (REPO / "specs" / "learn-exercise" / "demo_id_ed25519.pub").read_text().strip()
    env = {**github_env(work, tmp_path / "summary.md"), "SSH_KEY": key}
    result = invoke_cli("plan", "specs/warned", "-o", "markdown", cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    warnings = re.findall(
        r"^::warning file=([^,]+),line=(\d+),col=(\d+),title=imagepipe::", result.stderr, re.MULTILINE
    )
    assert warnings == [("specs/warned/specs.yaml", "37", "19")]
    assert "#### Warnings" in result.stdout and "spec.preserveSource" in result.stdout  # in the comment too


def test_apply_annotates_a_failed_step_and_the_spec_sets_warnings(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    env = github_env(work, tmp_path / "summary.md")
    with start_emulator(tmp_path / "state", speed=500) as em:
        faults = [{"operation": "Images_CreateOrUpdate", "lro_error": "OperationNotAllowed"}]
        requests.post(em.url("/_emulator/faults"), json=faults, verify=str(em.ca_file), timeout=30)
        result = invoke_cli(
            "apply", "specs/learn-exercise", "--yes", cwd=work, env={**env, **endpoint_env(em)}
        )
    assert result.returncode == 1
    errors = re.findall(r"^::error title=imagepipe::(.*)$", result.stdout, re.MULTILINE)
    assert (
        len(errors) == 1
        and errors[0].startswith("Capture/my-image/image: ")
        and "OperationNotAllowed" in errors[0]
    )
