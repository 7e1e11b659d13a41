"""Bounds on everything one run reads, across all its spec files, and on what it prints.

Each file has its own limits (yamlload); these bound the sum, so that many
files each under their limits cannot together exhaust memory, and a run that
finds thousands of problems prints a readable number of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imagepipe.errors import Diagnostic, Location, Severity, error

# A real spec set is a few files of a few dozen documents of a few hundred nodes.
MAX_SET_BYTES = 16 * 1024 * 1024
MAX_SET_DOCUMENTS = 10_000
MAX_SET_NODES = 500_000
# Diagnostics printed per spec set; the rest are counted in one last line.
MAX_DIAGNOSTICS = 100


@dataclass
class SetBudget:
    """What the run may still read; once spent, nothing more is read."""

    bytes: int = MAX_SET_BYTES
    documents: int = MAX_SET_DOCUMENTS
    nodes: int = MAX_SET_NODES
    spent: str | None = None  # which limit was passed, once one was
    reported: list[Diagnostic] = field(default_factory=list)  # shown even when output is capped

    def _report(self, diagnostic: Diagnostic) -> Diagnostic:
        self.reported.append(diagnostic)
        return diagnostic

    def refuse_file(self, file: str) -> Diagnostic | None:
        """The error for a file not read because the run passed a limit before it."""
        if self.spent is None:
            return None
        return error(
            f"not read: the spec files before it already passed the limit of {self.spent}", Location(file)
        )

    def take_bytes(self, file: str, size: int) -> Diagnostic | None:
        self.bytes -= size
        if self.bytes >= 0:
            return None
        self.spent = f"{MAX_SET_BYTES} bytes in all spec files"
        return self._report(
            error(f"not read: with this file the spec files pass the limit of {self.spent}", Location(file))
        )

    def take_document(self, where: Location) -> Diagnostic | None:
        self.documents -= 1
        if self.documents >= 0:
            return None
        self.spent = f"{MAX_SET_DOCUMENTS} YAML documents in all spec files"
        return self._report(
            error(
                f"too many documents: the spec files pass the limit of {self.spent}; the rest is not read",
                where,
            )
        )

    def nodes_for_document(self, per_document: int) -> int:
        return min(per_document, max(self.nodes, 0))

    def take_nodes(self, count: int) -> None:
        self.nodes -= count

    def set_limited(self, per_document: int) -> bool:
        """True when the set's remaining nodes, not the document's limit, bound the next document."""
        return self.nodes < per_document

    def spend_nodes(self) -> str:
        self.spent = f"{MAX_SET_NODES} YAML nodes (after aliases) in all spec files"
        return self.spent


def cap_diagnostics(
    diagnostics: list[Diagnostic], always: list[Diagnostic] | None = None, limit: int = MAX_DIAGNOSTICS
) -> list[Diagnostic]:
    """The first ``limit`` diagnostics (sorted), those of ``always`` that are among the rest
    (a passed limit says why reading stopped), and one line counting what is left out."""
    if len(diagnostics) <= limit:
        return diagnostics
    kept = set(map(id, always or ()))
    shown = [*diagnostics[:limit], *(d for d in diagnostics[limit:] if id(d) in kept)]
    rest = [d for d in diagnostics[limit:] if id(d) not in kept]
    if not rest:
        return shown
    errors = sum(d.is_error for d in rest)
    counted = f"{errors} error{'s' if errors != 1 else ''}"
    warnings = len(rest) - errors
    if warnings:
        counted += f" and {warnings} warning{'s' if warnings != 1 else ''}"
    # Located at the first one left out, so it sorts (and prints) where they would have.
    message = f"... and {len(rest)} more problems from here on ({counted}) not shown"
    summary = Diagnostic(Severity.ERROR if errors else Severity.WARNING, message, rest[0].location)
    return sorted([*shown, summary], key=Diagnostic.sort_key)
