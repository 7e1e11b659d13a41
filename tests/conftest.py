"""What every test's environment holds: the secrets the spec sets under test read through {env:},
as the CI job that runs validate, plan and apply would have them (an unset one is an error)."""

from __future__ import annotations

import pytest

# Values are placeholders of the right shape; no test prints them (tests/security checks that).
SPEC_ENV = {
    "SSH_KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGltYWdlcGlwZS10ZXN0LWtleS1vbmx5LW5vdC1yZWFs test",
    "IMAGEPIPE_DEMO_ADMIN_PASSWORD": "Demo-Only-Passw0rd!",
    "IMAGEPIPE_ADMIN_PASSWORD": "Test-Only-Passw0rd!",
    "IMAGEPIPE_WEB_KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGltYWdlcGlwZS13ZWIta2V5LW5vdC1yZWFsLWF0LWFsbA web",
    "VAR": "value",
    "PW": "Test-Only-Passw0rd!",
    "BUILD_KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGltYWdlcGlwZS1idWlsZC1rZXktbm90LXJlYWwtYXRhbGw build",
    "ADMIN_PASSWORD": "Test-Only-Passw0rd!",
    "KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGltYWdlcGlwZS11bml0LWtleS1ub3QtcmVhbC1hdC1hbGw unit",
    "K": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGltYWdlcGlwZS11bml0LWtleS1ub3QtcmVhbC1hdC1hbGw unit",
}


@pytest.fixture(autouse=True)
def spec_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SPEC_ENV.items():
        monkeypatch.setenv(name, value)
