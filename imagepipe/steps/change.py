"""What one step's evaluation proposes: a Change (the unit a plan is made of), and the hash of
desired properties that ownership tags carry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

Action = Literal["create", "update", "replace", "delete", "action", "no-op", "conflict"]
ACTIONS: tuple[str, ...] = ("create", "update", "replace", "delete", "action", "no-op", "conflict")


@dataclass
class Change:
    action: Action
    address: str
    reason: str
    document: str = ""
    resource_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    observed: str = ""  # fingerprint of the observed state this change was computed from

    @property
    def is_change(self) -> bool:
        return self.action not in ("no-op", "conflict")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        if data.get("action") not in ACTIONS:
            raise ValueError(f"unknown action {data.get('action')!r}")
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_secret_safe)


def _secret_safe(value: Any) -> Any:
    # SecretRef (and anything like it) contributes its reference, never its value.
    if hasattr(value, "fingerprint_source"):
        return value.fingerprint_source()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def digest(value: Any, length: int = 12) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:length]
