"""Secret references: ``{env: VAR}`` and ``{file: PATH}``.

A SecretRef knows where its value lives, never the value itself: it is
resolved only at the moment a request to Azure needs it, and its repr/str
show the reference, so no printable object ever carries a secret.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from imagepipe.errors import Location, SecretError
from imagepipe.spec.suggest import printable

# A {file:} secret larger than this is refused (keys and passwords are small).
MAX_SECRET_FILE_BYTES = 64 * 1024
# Variables a spec may always read (unless refused below), with or without spec.secretEnv.
ENV_PREFIX = "IMAGEPIPE_"
# Cloud and CI credentials: never sent to a VM, even when a Stack lists them (compared upper-case).
CREDENTIAL_PREFIXES = (
    "AZURE_",
    "ARM_",
    "MSI_",
    "IDENTITY_",
    "AWS_",
    "GOOGLE_",
    "GCP_",
    "GCLOUD_",
    "CLOUDSDK_",
    "GITHUB_",
    "ACTIONS_",
    "RUNNER_",
    "SYSTEM_",
    "CI_",
    "GITLAB_",
    "VAULT_",
)
CREDENTIAL_SUFFIXES = ("_TOKEN", "_ACCESSTOKEN", "_SECRET", "_ACCESS_KEY", "_API_KEY", "_APIKEY")
CREDENTIAL_NAMES = frozenset({"KUBECONFIG", "DOCKER_AUTH_CONFIG", "DOCKER_PASSWORD", "SSH_AUTH_SOCK"})


def credential_name(name: str) -> bool:
    """True when ``name`` is a well-known cloud or CI credential variable."""
    upper = name.upper()
    return (
        upper in CREDENTIAL_NAMES
        or upper.startswith(CREDENTIAL_PREFIXES)
        or upper.endswith(CREDENTIAL_SUFFIXES)
    )


def env_problem(name: str, allowed: tuple[str, ...] | None) -> str | None:
    """Why a spec may not read environment variable ``name``, or None.

    The rule (docs/spec-language.md, "Secrets"): credentials by name are refused
    always; when the Stack lists ``secretEnv``, only those and ``IMAGEPIPE_*``.
    """
    shown = printable(name, 80)
    if credential_name(name):
        return (
            f"{shown} is a cloud or CI credential by its name; a spec never reads one "
            f"(use a variable of your own, e.g. {ENV_PREFIX}ADMIN_PASSWORD)"
        )
    if allowed is not None and name not in allowed and not name.startswith(ENV_PREFIX):
        return f"{shown} is not in the Stack's spec.secretEnv and does not start with {ENV_PREFIX}"
    return None


@dataclass(frozen=True)
class SecretRef:
    kind: str  # "env" or "file"
    name: str  # variable name, or the path as written in the spec
    origin: Location | None = field(default=None, compare=False)
    base_dir: Path | None = field(default=None, compare=False)  # folder of the spec file, for {file:}

    def __repr__(self) -> str:
        return f"SecretRef({self.kind}:{self.name})"

    def __str__(self) -> str:
        return f"<secret {self.kind}:{self.name}>"

    def describe(self) -> str:
        """What a plan shows in place of the value."""
        return f"({self.kind}:{self.name})"

    def path(self) -> Path:
        p = Path(self.name).expanduser()
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        return p

    def reveal(self) -> str:
        """The secret's value. Call only where a request needs it; never log the result."""
        value, problem = self._read()
        if problem is not None:
            where = f"{self.origin}: " if self.origin else ""
            raise SecretError(f"{where}{problem}")
        return value

    def problem(self) -> str | None:
        """Why the value cannot be read now (an unset variable, a missing file), or None.
        Validate and plan ask, so the apply on merge is not the first to find out."""
        return self._read()[1]

    def _read(self) -> tuple[str, str | None]:
        if self.kind == "env":
            value = os.environ.get(self.name)
            if value is None or value == "":
                return (
                    "",
                    f"environment variable {self.name} is not set (set it where validate, plan and apply run; its value is never printed)",
                )
            return value, None
        p = self.path()
        try:
            if p.stat().st_size > MAX_SECRET_FILE_BYTES:
                return "", f"secret file {self.name} is larger than {MAX_SECRET_FILE_BYTES} bytes"
            data = p.read_bytes()
        except OSError as exc:
            return "", f"cannot read secret file {self.name}: {exc.strerror or exc}"
        try:
            return data.decode("utf-8").strip(), None
        except UnicodeDecodeError:
            return "", f"secret file {self.name} is not UTF-8 text"

    def outside(self, folder: Path) -> str | None:
        """Why a {file:} reference reaches outside ``folder`` (the spec set's), or None.

        Checked at validate time without reading the file: a spec must not be able
        to send ``/etc/shadow`` or ``~/.ssh/id_rsa`` to a VM, even through a symlink.
        """
        if self.kind != "file":
            return None
        if Path(self.name).is_absolute() or self.name.startswith("~"):
            return f"'{printable(self.name, 80)}' is not relative to the spec file; keep secret files inside the spec folder"
        root = os.path.realpath(folder)
        lexical = os.path.normpath(os.path.abspath(self.path()))
        resolved = os.path.realpath(self.path())
        if not _within(lexical, os.path.abspath(folder)) and not _within(lexical, root):
            return f"'{printable(self.name, 80)}' is outside the spec folder"
        if not _within(resolved, root):
            return f"'{printable(self.name, 80)}' is a symlink to a file outside the spec folder"
        if system_path(resolved) or root == os.sep:
            # A spec folder that is (or links to) / would otherwise contain /proc/self/environ.
            return f"'{printable(self.name, 80)}' is in a system folder (/, /proc, /sys, /dev); keep secret files in the spec folder"
        if hidden_part(os.path.relpath(resolved, root)) or hidden_part(
            os.path.relpath(lexical, os.path.abspath(folder))
        ):
            return (
                f"'{printable(self.name, 80)}' is in a dot-named file or folder (such as .git or .ssh); "
                "keep secret files in plain files of the spec folder"
            )
        return None

    def fingerprint_source(self) -> str:
        """What goes into a desired-state hash: the reference, not the value."""
        return f"{self.kind}:{self.name}"


SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")


def system_path(real: str) -> bool:
    """True for a real path in a pseudo-file system, whose files are the machine's state."""
    return any(_within(real, folder) for folder in SYSTEM_FOLDERS)


def hidden_part(relative: str) -> bool:
    """True when a path relative to the spec folder passes through a dot-named name."""
    return any(part.startswith(".") and part not in (".", "..") for part in Path(relative).parts)


def within(path: str, folder: str) -> bool:
    return _within(path, folder)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def file_references(value: object) -> list[SecretRef]:
    """Every ``{file:}`` reference in a spec model (dataclasses, lists, dicts), in a stable order."""
    found: dict[tuple[str, str], SecretRef] = {}
    stack: list[object] = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, SecretRef):
            if item.kind == "file":
                found.setdefault((str(item.base_dir), item.name), item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return [found[key] for key in sorted(found)]
