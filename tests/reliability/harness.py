"""What the reliability suites and scripts share: an emulator in its own process, the CLI as a
subprocess, and the checks that a stack converged without damage.

The emulator runs as `imagepipe emulator serve` so that it can be killed and restarted on the
same state; `imagepipe` runs as a subprocess so that it can be SIGKILLed like a CI job.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs"
# The snapshot-restore example reads its Windows password from the environment.
DEMO_ENV = {"IMAGEPIPE_DEMO_ADMIN_PASSWORD": "Demo-Only-Passw0rd!"}
TEMPORARY_MARKERS = ("-tmp", "-src-os", "-src-data")
# Source VMs that a capture must leave exactly as they were (preserveSource, specialized).
PRESERVED_SOURCES = {"fleet": ["golden-build"], "snapshot-restore": ["app-server"], "learn-exercise": []}
RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"
_AZURE_CHOSEN = re.compile(r"(_disk\d+_)[0-9a-f]{32}$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_specs(name: str, dest: Path, replace: dict[str, str] | None = None) -> Path:
    """An example spec set in a folder of its own, optionally with text replaced (stack, groups)."""
    folder = dest / name
    shutil.copytree(SPECS / name, folder)
    for path in folder.glob("*.yaml"):
        text = path.read_text()
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        path.write_text(text)
    return folder


@dataclass
class EmulatorProcess:
    """`imagepipe emulator serve` on a fixed port and state folder: killable and restartable."""

    state_dir: Path
    speed: float = 1000.0
    throttling: bool = False
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> EmulatorProcess:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        exports = self.state_dir / "serve.env"
        command = [
            sys.executable,
            "-m",
            "imagepipe.cli.main",
            "emulator",
            "serve",
            "--port",
            str(self.port),
            "--state",
            str(self.state_dir),
            "--speed",
            str(self.speed),
        ]
        if not self.throttling:
            command.append("--no-throttling")
        with exports.open("wb") as out, (self.state_dir / "serve.log").open("ab") as err:
            self._proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the emulator exited: {(self.state_dir / 'serve.log').read_text()}")
            self.env = _exports(exports.read_text())
            if "AZURE_SUBSCRIPTION_ID" in self.env and self._ready():
                return self
            time.sleep(0.05)
        raise RuntimeError("the emulator did not start within 60 s")

    def _ready(self) -> bool:
        try:
            return requests.get(self.url("/_emulator/stats"), verify=self.ca_file, timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def restart(self, sig: int = signal.SIGKILL) -> None:
        """Kill it (SIGKILL by default: no clean shutdown) and serve the same state on the same port."""
        self.stop(sig)
        self.start()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # what connect_emulator reads
    @property
    def endpoint(self) -> str:
        return self.env["IMAGEPIPE_ENDPOINT"]

    @property
    def ca_file(self) -> str:
        return self.env["IMAGEPIPE_CA_FILE"]

    @property
    def tenant_id(self) -> str:
        return self.env["AZURE_TENANT_ID"]

    @property
    def client_id(self) -> str:
        return self.env["AZURE_CLIENT_ID"]

    @property
    def client_secret(self) -> str:
        return self.env["AZURE_CLIENT_SECRET"]

    @property
    def subscription_id(self) -> str:
        return self.env["AZURE_SUBSCRIPTION_ID"]

    def url(self, path: str) -> str:
        return f"{self.env['IMAGEPIPE_ENDPOINT']}{path}"

    def admin(self, path: str, body: Any = None) -> Any:
        url = self.url(f"/_emulator/{path}")
        if body is None:
            response = requests.get(url, verify=self.ca_file, timeout=30)
        else:
            response = requests.post(url, json=body, verify=self.ca_file, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def journal(self) -> list[dict[str, Any]]:
        return list(self.admin("journal")["value"])

    def faults(self, rules: Any) -> None:
        self.admin("faults", rules)


def _exports(text: str) -> dict[str, str]:
    import shlex

    env = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            parts = shlex.split(value)
            env[name] = parts[0] if parts else ""
    return env


def cli_env(emulator: EmulatorProcess, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **DEMO_ENV, **emulator.env, "PYTHONUNBUFFERED": "1", **(extra or {})}


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "imagepipe.cli.main", *args]


def run_cli(
    emulator: EmulatorProcess, *args: str, cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        env=cli_env(emulator),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_cli(emulator: EmulatorProcess, *args: str, cwd: Path, log: Path) -> subprocess.Popen[str]:
    """The CLI in the background, its output (stdout and stderr) in ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            cli_command(*args),
            cwd=cwd,
            env=cli_env(emulator),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )


def wait_for_output(proc: subprocess.Popen[str], log: Path, trigger: str, timeout: float = 300) -> bool:
    """True once ``trigger`` appears in ``log``; False if ``proc`` ended without printing it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if trigger in log.read_text():
            return True
        if proc.poll() is not None:
            return trigger in log.read_text()
        time.sleep(0.01)
    raise AssertionError(f"{trigger!r} did not appear within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def in_flight(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    """The operations the emulator is running now (started, not ended)."""
    return [op for op in emulator.journal() if op.get("status") == "InProgress"]


def wait_in_flight(
    emulator: EmulatorProcess, proc: subprocess.Popen[str], timeout: float = 60
) -> list[dict[str, Any]]:
    """The operations in flight, polled until there is one while ``proc`` runs; empty if it ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        running = in_flight(emulator)
        if running:
            return running
        time.sleep(0.01)
    return []


def kill_mid_operation(
    emulator: EmulatorProcess, proc: subprocess.Popen[str], log: Path, trigger: str
) -> list[dict[str, Any]]:
    """SIGKILL ``proc`` once ``trigger`` is in its output and one of its operations is in flight.

    Returns the operations in flight just before the kill; empty if the run ended before.
    """
    if not wait_for_output(proc, log, trigger):
        return []
    running = wait_in_flight(emulator, proc)
    return running if running and kill(proc) else []


def kill_after(proc: subprocess.Popen[str], seconds: float) -> bool:
    """SIGKILL ``proc`` after ``seconds``; False if it had already finished."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        return kill(proc)


def kill(proc: subprocess.Popen[str]) -> bool:
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return True


# ---- what the target holds -----------------------------------------------------------------


def inventory(emulator: EmulatorProcess) -> list[tuple[str, str, str]]:
    """Every resource in the subscription, groups included, as sorted (type, group, name)."""
    from imagepipe.azure.target import connect_emulator

    with connect_emulator(emulator) as target:
        rows = [(RESOURCE_GROUPS, g.name, g.name) for g in target.resources.resource_groups.list()]
        for res in target.resources.resources.list():
            group = res.id.split("/resourceGroups/", 1)[1].split("/", 1)[0]
            rows.append((res.type, group.lower(), res.name))
    return sorted(rows)


def resource_documents(emulator: EmulatorProcess) -> dict[str, dict[str, Any]]:
    """Every resource of the subscription as ARM returns it (VMs with their instance view), by id."""
    from imagepipe.azure.target import connect_emulator

    docs: dict[str, dict[str, Any]] = {}
    with connect_emulator(emulator) as target:
        for res in target.resources.resources.list():
            if res.type.lower() == "microsoft.compute/virtualmachines":
                group = res.id.split("/resourceGroups/", 1)[1].split("/", 1)[0]
                vm = target.compute.virtual_machines.get(group, res.name, expand="instanceView")
                docs[res.id.lower()] = vm.as_dict()
            else:
                docs[res.id.lower()] = res.as_dict()
    return docs


def _per_instance(journal: list[dict[str, Any]], counted: Any) -> Counter[str]:
    """The most times ``counted(op)`` (a VM id or None) hit one VM between its deletions.

    A VM deleted and made again under the same name is another machine: its count restarts.
    Failed operations did nothing and are not counted.
    """
    now: Counter[str] = Counter()
    most: Counter[str] = Counter()
    for op in journal:
        rid = op["resourceId"].lower()
        if op["name"] == "VirtualMachines_Delete" and op.get("status") != "Failed":
            now.pop(rid, None)
            continue
        vm = counted(op) if op.get("status") != "Failed" else None
        if vm:
            now[vm] += 1
            most[vm] = max(most[vm], now[vm])
    return most


def generalizes_per_vm(journal: list[dict[str, Any]]) -> Counter[str]:
    return _per_instance(
        journal, lambda op: op["resourceId"].lower() if op["name"] == "VirtualMachines_Generalize" else None
    )


def deprovisions_per_vm(journal: list[dict[str, Any]]) -> Counter[str]:
    """Managed Run Commands named imagepipe-deprovision, per VM."""

    def vm_of(op: dict[str, Any]) -> str | None:
        rid = op["resourceId"].lower()
        if (
            op["name"] == "VirtualMachineRunCommands_CreateOrUpdate"
            and "/runcommands/imagepipe-deprovision" in rid
        ):
            return rid.split("/runcommands/", 1)[0]
        return None

    return _per_instance(journal, vm_of)


def calls_on(journal: list[dict[str, Any]], name: str, rid: str) -> int:
    return sum(
        1
        for op in journal
        if op["name"] == name and op["resourceId"].lower() == rid and op.get("status") != "Failed"
    )


@dataclass
class Expected:
    """What an undisturbed apply leaves: the inventory and the preserved sources' documents."""

    inventory: list[tuple[str, str, str]]
    sources: dict[str, Any]


def expected_outcome(name: str, work: Path, speed: float) -> Expected:
    with EmulatorProcess(work / "emulator", speed=speed) as em:
        folder = copy_specs(name, work)
        done = run_cli(em, "apply", str(folder), "--yes", cwd=work)
        if done.returncode != 0:
            raise RuntimeError(f"the reference apply of {name} failed: {done.stdout[-2000:]}{done.stderr}")
        sources = {rid: comparable(doc) for rid, doc in vm_ids(em, PRESERVED_SOURCES.get(name, [])).items()}
        return Expected(inventory(em), sources)


def not_yet_made(emulator: EmulatorProcess, expected: Expected) -> list[tuple[str, str, str]]:
    """What an undisturbed apply makes that the target does not hold (yet)."""
    have, want = Counter(map(_stable, inventory(emulator))), Counter(map(_stable, expected.inventory))
    return sorted((want - have).elements())


def damage(emulator: EmulatorProcess, expected: Expected) -> list[str]:
    """What is wrong after a run that should have converged; empty when nothing is."""
    problems: list[str] = []
    expected_inventory, preserved = expected.inventory, expected.sources
    now = inventory(emulator)
    have, want = Counter(map(_stable, now)), Counter(map(_stable, expected_inventory))
    missing = sorted((want - have).elements())
    extra = sorted((have - want).elements())
    if missing:
        problems.append(f"missing: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if extra:
        problems.append(f"not described (duplicates or leftovers): {extra[:5]}")
    leftovers = [row for row in now if any(m in row[2] for m in TEMPORARY_MARKERS)]
    if leftovers:
        problems.append(f"temporaries left behind: {leftovers}")
    journal = emulator.journal()
    for vm, n in generalizes_per_vm(journal).items():
        if n > 1:
            problems.append(f"{vm} generalized {n} times")
    for vm, n in deprovisions_per_vm(journal).items():
        if n > 1:
            problems.append(f"{vm} deprovisioned {n} times")
    if preserved:
        docs = resource_documents(emulator)
        for rid, before in preserved.items():
            after = comparable(docs.get(rid))
            if after != before:
                problems.append(f"preserved source {rid} changed: {_difference(before, after)}")
            for name in ("VirtualMachines_Generalize", "VirtualMachines_Deallocate"):
                if calls_on(journal, name, rid):
                    problems.append(f"preserved source {rid}: {name} was called")
            if deprovisions_per_vm(journal).get(rid):
                problems.append(f"preserved source {rid} was deprovisioned")
    return problems


def comparable(doc: dict[str, Any] | None) -> Any:
    """A VM's document without what differs between two runs alone (ids, times, ETags)."""
    if doc is None:
        return None
    import json

    volatile = {"vmId", "timeCreated", "time", "etag", "exactVersion"}

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in volatile}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.loads(json.dumps(strip(doc), sort_keys=True, default=str))


def vm_ids(emulator: EmulatorProcess, names: list[str]) -> dict[str, dict[str, Any]]:
    docs = resource_documents(emulator)
    return {
        rid: doc
        for rid, doc in docs.items()
        if rid.split("/")[-1] in {n.lower() for n in names} and "/virtualmachines/" in rid
    }


def _stable(row: tuple[str, str, str]) -> tuple[str, str, str]:
    """A row with the GUID Azure puts in the names it chooses (a VM's implicit data disks) masked."""
    return (row[0], row[1], _AZURE_CHOSEN.sub(r"\1*", row[2]))


def _difference(before: Any, after: Any, path: str = "") -> str:
    """The first place where two JSON values differ, for a readable failure."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                return _difference(before.get(key), after.get(key), f"{path}.{key}")
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            if b != a:
                return _difference(b, a, f"{path}[{i}]")
    return f"{path or '.'}: {before!r} -> {after!r}"
