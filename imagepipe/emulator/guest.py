"""The guest model: what Run Command scripts do inside a VM, as far as imaging cares.

Scripts are never executed. The model only recognises the identity reset that
imaging needs (Linux `waagent -deprovision`, Windows `sysprep /generalize`), the
`/shutdown` switch of sysprep, and a final `exit N`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imagepipe.emulator.errors import ArmError

COMMANDS = {"RunShellScript": "Linux", "RunPowerShellScript": "Windows"}
_EXIT = re.compile(r"^\s*exit\s+(-?\d+)\s*;?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class GuestRun:
    exit_code: int
    stdout: str
    stderr: str
    deprovisioned: bool  # the run reset the guest identity
    shutdown: bool  # the run shut the VM down (sysprep /shutdown)

    @property
    def failed(self) -> bool:
        return self.exit_code != 0

    def extension_error(self, os_type: str) -> dict:
        extension = "RunCommandLinux" if os_type == "Linux" else "RunCommandWindows"
        return {
            "code": "VMExtensionProvisioningError",
            "message": f"VM has reported a failure when processing extension '{extension}'. Error message: "
            f'"Enable failed: failed to execute command: command terminated with exit status={self.exit_code}".',
        }


def check_command(command_id: str, os_type: str) -> None:
    wanted = COMMANDS.get(command_id)
    if wanted is None:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The command '{command_id}' is not supported. Use RunShellScript (Linux) or RunPowerShellScript (Windows).",
            "commandId",
        )
    if wanted != os_type:
        raise ArmError(
            400,
            "InvalidParameter",
            f"Run command OS type '{wanted}' does not match the target OS '{os_type}'.",
            "commandId",
        )


def run(os_type: str, script: str) -> GuestRun:
    lines = [line for line in script.splitlines() if line.strip()]
    exit_code = 0
    if lines:
        match = _EXIT.match(lines[-1])
        if match:
            exit_code = int(match.group(1))
    lowered = script.lower()
    if os_type == "Linux":
        resets = "waagent" in lowered and "-deprovision" in lowered
        shutdown = False
        stdout = (
            "WARNING! The waagent service will be stopped.\nWARNING! Cached DHCP leases will be deleted.\n"
            "WARNING! root password will be disabled. You will not be able to login as root.\n"
            if resets
            else ""
        )
    else:
        resets = "sysprep" in lowered and "/generalize" in lowered
        shutdown = resets and "/shutdown" in lowered
        stdout = "Sysprep started.\n" if resets else ""
    ok = exit_code == 0
    stderr = "" if ok else f"script exited with status {exit_code}\n"
    return GuestRun(exit_code, stdout, stderr, deprovisioned=resets and ok, shutdown=shutdown and ok)


def statuses(result: GuestRun) -> list[dict]:
    """The `value` of a Run Command action's result (RunCommandResult)."""
    state = "succeeded" if not result.failed else "failed"
    return [
        {
            "code": f"ComponentStatus/StdOut/{state}",
            "level": "Info",
            "displayStatus": "Provisioning succeeded" if not result.failed else "Provisioning failed",
            "message": result.stdout,
        },
        {
            "code": f"ComponentStatus/StdErr/{state}",
            "level": "Info" if not result.failed else "Error",
            "displayStatus": "Provisioning succeeded" if not result.failed else "Provisioning failed",
            "message": result.stderr,
        },
    ]


def script_text(body: dict) -> str:
    script = body.get("script") or []
    if isinstance(script, str):
        return script
    return "\n".join(str(line) for line in script)
