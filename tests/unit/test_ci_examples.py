"""The example pipelines in examples/ci/ validate against their published schemas (the ones
check-jsonschema ships in its wheel, so no network is needed) and pass actionlint, and keep
the conventions docs/ci.md describes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
GITHUB = sorted((EXAMPLES / "github").glob("*.yml"))
AZURE_DEVOPS = EXAMPLES / "azure-devops" / "azure-pipelines.yml"
# Any request to the network fails at once: the checks must work offline, as in CI.
OFFLINE = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    # The Azure Pipelines schema has patterns only Python's regex dialect reads.
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--regex-variant",
            "nonunicode",
            "--builtin-schema",
            f"vendor.{schema}",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=OFFLINE,
        timeout=120,
    )


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert found, "actionlint is missing: pip install -e '.[test]' installs it"
    return found


def test_github_workflows_follow_the_published_schema() -> None:
    assert [p.name for p in GITHUB] == ["imagepipe-apply.yml", "imagepipe-plan.yml"]
    done = check_jsonschema("github-workflows", *GITHUB)
    assert done.returncode == 0, done.stdout + done.stderr


def test_azure_pipeline_follows_the_published_schema() -> None:
    done = check_jsonschema("azure-pipelines", AZURE_DEVOPS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_github_workflows_pass_actionlint() -> None:
    done = subprocess.run(
        [actionlint(), *map(str, GITHUB)], capture_output=True, text=True, env=OFFLINE, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("checker", ["schema", "actionlint"])
def test_a_broken_workflow_is_caught(checker: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (EXAMPLES / "github" / "imagepipe-plan.yml").read_text()
    if checker == "schema":
        broken.write_text(text.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"))
        done = check_jsonschema("github-workflows", broken)
    else:
        broken.write_text(text.replace("${{ github.workflow }}", "${{ github.workflw }}"))
        done = subprocess.run(
            [actionlint(), str(broken)], capture_output=True, text=True, env=OFFLINE, timeout=120
        )
    assert done.returncode != 0


def test_plan_and_apply_keep_the_ci_conventions() -> None:
    plan = yaml.safe_load((EXAMPLES / "github" / "imagepipe-plan.yml").read_text())
    apply = yaml.safe_load((EXAMPLES / "github" / "imagepipe-apply.yml").read_text())
    # yaml reads the key `on` as True (YAML 1.1).
    assert "pull_request" in plan[True] and apply[True]["push"]["branches"] == ["main"]
    assert plan["concurrency"]["cancel-in-progress"] is True
    assert apply["concurrency"]["cancel-in-progress"] is False  # a cancelled apply leaves half-made resources
    assert plan["permissions"]["id-token"] == apply["permissions"]["id-token"] == "write"
    assert apply["jobs"]["apply"]["environment"] == "production"
    plan_steps = plan["jobs"]["plan"]["steps"]
    run = " ".join(step.get("run", "") for step in plan_steps)
    assert "-o markdown" in run and "--out imagepipe-plan.json" in run
    script = next(step["with"]["script"] for step in plan_steps if "github-script" in step.get("uses", ""))
    assert "updateComment" in script and "startsWith(marker)" in script
    apply_run = " ".join(step.get("run", "") for step in apply["jobs"]["apply"]["steps"])
    assert "imagepipe apply imagepipe-plan.json" in apply_run
    logins = [
        s
        for s in plan_steps + apply["jobs"]["apply"]["steps"]
        if s.get("uses", "").startswith("azure/login@")
    ]
    assert [s["with"]["client-id"] for s in logins] == [
        "${{ vars.AZURE_PLAN_CLIENT_ID }}",
        "${{ vars.AZURE_APPLY_CLIENT_ID }}",
    ]
    pipeline = yaml.safe_load(AZURE_DEVOPS.read_text())
    stage = next(s for s in pipeline["stages"] if s["stage"] == "apply")
    assert stage["lockBehavior"] == "sequential"
    assert stage["jobs"][0]["environment"] == "imagepipe-production"
