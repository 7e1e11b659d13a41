"""StepGraph: the dependency DAG of a spec set's steps, with stable orderings."""

from __future__ import annotations

import re
from functools import cached_property

import networkx as nx

from imagepipe.graph.step import Step

_DIGITS = re.compile(r"(\d+)")


def address_key(address: str) -> tuple:
    """Sort key that orders ``vm[2]`` before ``vm[10]``."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(address))


class StepGraph:
    """A networkx DiGraph keyed by address; an edge u -> v means v depends on u."""

    def __init__(self, graph: nx.DiGraph, outputs: dict[str, str]):
        self.graph = graph
        self._outputs = outputs

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __contains__(self, address: object) -> bool:
        return address in self.graph

    @cached_property
    def _order(self) -> list[Step]:
        nodes = nx.lexicographical_topological_sort(self.graph, key=address_key)
        return [self.graph.nodes[n]["step"] for n in nodes]

    @cached_property
    def _by_document(self) -> dict[str, list[Step]]:
        out: dict[str, list[Step]] = {}
        for step in self._order:
            out.setdefault(step.document, []).append(step)
        return out

    def steps(self) -> list[Step]:
        """Every step in dependency order, ties broken by address."""
        return list(self._order)

    def step(self, address: str) -> Step:
        return self.graph.nodes[address]["step"]

    def dependencies(self, address: str) -> list[str]:
        """Addresses this step waits for (direct only), sorted."""
        return sorted(self.graph.predecessors(address), key=address_key)

    def dependants(self, address: str) -> list[str]:
        """Addresses that wait for this step (direct only), sorted."""
        return sorted(self.graph.successors(address), key=address_key)

    def output_step(self, capture_ref: str) -> str:
        """The address a Deployment from ``capture_ref`` depends on (docs/internals.md)."""
        return self._outputs[capture_ref]

    def steps_of(self, document_ref: str) -> list[Step]:
        """The steps one document expands into, in dependency order."""
        return list(self._by_document.get(document_ref, []))

    def edges(self) -> list[tuple[str, str]]:
        """Every (dependency, dependant) pair, sorted."""
        return sorted(self.graph.edges, key=lambda e: (address_key(e[0]), address_key(e[1])))
