"""One default state folder for the embedded emulator and `imagepipe emulator serve`: what an
embedded apply made, a served emulator started in the same folder sees; while it serves, another
emulator on that state is refused with a message that names it and says how to use it."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from cli_run import invoke_cli, run_cli, workdir_with_specs

EXPORTS = 8  # the variables `serve` prints (Emulator.env)


def serve(work: Path, *args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "imagepipe.cli.main", "emulator", "serve", "--port", "0", *args],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    env = {}
    for _ in range(EXPORTS):
        line = process.stdout.readline()
        assert line.startswith("export "), line
        name, _, value = line.removeprefix("export ").strip().partition("=")
        env[name] = shlex.split(value)[0]
    return process, env


def test_serve_uses_the_embedded_state_and_a_second_emulator_is_refused(tmp_path: Path) -> None:
    work = workdir_with_specs(tmp_path)
    applied = invoke_cli("apply", "specs/learn-exercise", "--yes", cwd=work)
    assert applied.returncode == 0, applied.stderr + applied.stdout

    server, env = serve(work, "--speed", "1000")
    try:
        assert Path(env["IMAGEPIPE_CA_FILE"]).parent == (work / ".imagepipe").resolve()
        again = invoke_cli("plan", "specs/learn-exercise", "--detailed-exitcode", cwd=work, env=env)
        assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr

        embedded = run_cli(
            "plan",
            "specs/learn-exercise",
            cwd=work,
            env={"IMAGEPIPE_STATE_WAIT": "0", "IMAGEPIPE_ENDPOINT": ""},
        )
        assert embedded.returncode == 1
        assert f"in use by `imagepipe emulator serve` (pid {server.pid}) at {env['IMAGEPIPE_ENDPOINT']}" in (
            embedded.stderr
        ), embedded.stderr
        assert "eval the export lines it printed" in embedded.stderr
        assert "Traceback" not in embedded.stderr

        second = run_cli("emulator", "serve", "--port", "0", cwd=work, timeout=60)
        assert second.returncode == 1
        assert f"`imagepipe emulator serve` (pid {server.pid})" in second.stderr, second.stderr
        assert server.poll() is None
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert not (work / ".imagepipe" / "emulator").exists()
    assert os.path.isfile(work / ".imagepipe" / "emulator.sqlite")
