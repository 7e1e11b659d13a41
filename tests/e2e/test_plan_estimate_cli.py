"""Every plan says how long its apply should take and what bounds it; apply's summary shows the
estimate beside the measured time."""

from __future__ import annotations

import json
from pathlib import Path

from cli_run import endpoint_env, invoke_cli, workdir_with_specs

from imagepipe.emulator import start_emulator


def test_plan_prints_the_estimate_and_apply_compares_it_with_the_measured_time(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    with start_emulator(tmp_path / "state", speed=1000, throttling=True) as em:
        env = endpoint_env(em)
        text = invoke_cli("plan", "specs/learn-exercise", cwd=work, env=env)
        assert text.returncode == 0
        line = next(x for x in text.stdout.splitlines() if x.startswith("Estimated apply time:"))
        assert line.startswith("Estimated apply time: about ")
        assert "bounded by the longest chain of steps: Capture/my-image's managed image ready" in line
        assert "at this emulator's speed 1000" in line

        as_json = json.loads(
            invoke_cli("plan", "specs/learn-exercise", "-o", "json", cwd=work, env=env).stdout
        )
        assert as_json["estimated_duration_s"] > 256  # the steps' typical durations, and polling on top
        assert as_json["estimated_duration_bound"].startswith("the longest chain of steps")

        applied = invoke_cli("apply", "specs/learn-exercise", "--yes", "-o", "json", cwd=work, env=env)
        assert applied.returncode == 0, applied.stderr
        summary = json.loads(applied.stdout.splitlines()[-1])
        assert summary["estimate_s"] == as_json["estimated_duration_s"]
        assert summary["measured_s"] > 0

        again = invoke_cli("plan", "specs/learn-exercise", cwd=work, env=env)
        assert "Estimated apply time: none, nothing to change." in again.stdout
