"""What rules answer, as plain data: the HTTP layer (`render.py`) turns it into a response.

Rules return a `Reply` (a status and a JSON body) or a `Started` long-running operation,
and raise `errors.ArmError` for ARM's error answers, so they can be called and checked
without HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A finished answer: `body` is sent as JSON (None: no body)."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Started:
    """The first answer of the long-running operation `op`, which clients then poll.

    `async_header`: an Azure-AsyncOperation status URL; `location`: a Location URL
    (the status URL in monitor mode); `operation_results`: Location is Resource
    Manager's own `operationresults` URL (a resource group delete).
    """

    op: dict
    status: int
    body: dict | None = None
    async_header: bool = True
    location: bool = False
    operation_results: bool = False


Answer = Reply | Started
