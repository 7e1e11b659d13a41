"""A step: one node of the dependency graph, with a stable address.

Addresses are ``<Kind>/<name>/<step>`` with an optional ``[index]``
(``Deployment/web/vm[3]``), or ``ResourceGroup/<rg>`` and
``VirtualNetwork/<rg>/<vnet>`` for the infrastructure that several documents
share. The graph knows nothing about Azure: a step names what to do, the
steps know how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imagepipe.errors import Location
from imagepipe.vocabulary import StepKind


@dataclass(frozen=True)
class Step:
    address: str
    document: str  # "Capture/web", or "ResourceGroup/rg" for shared steps
    name: str  # the step's name inside its document: "vm", "image", "generalize", ...
    kind: StepKind  # what it does, stamped once by the graph builder
    index: int | None = None  # for per-instance steps: vm[3], nic[3]
    location: Location | None = field(default=None, compare=False)
    # Only shared steps carry params (what the documents that share them asked for);
    # every other step reads its document from the SpecSet.
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def phase(self) -> str:
        """The progress bar this step counts towards."""
        return self.kind.phase.value

    def __str__(self) -> str:
        return self.address


def address(document: str, name: str, index: int | None = None) -> str:
    return f"{document}/{name}" + (f"[{index}]" if index is not None else "")
