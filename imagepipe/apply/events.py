"""Progress events of an apply, consumed by the renderers (rich, plain lines, JSON lines)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    kind: str  # "plan", "start", "done", "failed", "skipped", "finish"
    address: str = ""
    phase: str = ""
    action: str = ""
    message: str = ""
    time: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind, "time": round(self.time, 3)}
        for key in ("address", "phase", "action", "message"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out.update(self.data)
        return out


EventSink = Callable[[Event], None]


def discard(_: Event) -> None:
    return None
