"""References between documents (``Kind/name`` strings) and the cycles they close.

A Capture names its source, a SourceVM may be created from a Capture, a
Deployment names its Capture. A cycle among them can never be built, so it is
refused here, at the reference that closes it, before any step graph exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import networkx as nx

from imagepipe.errors import Diagnostic, error
from imagepipe.spec.images import is_capture_ref
from imagepipe.spec.model import AnyDocument, Capture, Deployment, SourceVHD, SourceVM
from imagepipe.spec.yamlload import PathKey, RawDocument


def references(document: AnyDocument) -> Iterator[tuple[PathKey, str, tuple[type, ...]]]:
    """The ``Kind/name`` references a document makes: the field, the reference, the kinds it may name."""
    if isinstance(document, Capture):
        yield ("spec", "source"), document.source, (SourceVM, SourceVHD)
    elif isinstance(document, SourceVM) and document.create is not None:
        if is_capture_ref(document.create.image):
            yield ("spec", "create", "image"), document.create.image, (Capture,)
    elif isinstance(document, Deployment):
        yield ("spec", "image"), document.image, (Capture,)


def reference_graph(documents: Mapping[str, AnyDocument]) -> nx.DiGraph:
    """An edge from each document to each document it references (``field`` on the edge).

    A reference to a missing document or to one of the wrong kind is left out: the
    rules report it, and it makes no dependency.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(documents)
    for ref, document in documents.items():
        for field, target, kinds in references(document):
            if isinstance(documents.get(target), kinds):
                graph.add_edge(ref, target, field=field)
    return graph


def cycle_diagnostics(
    documents: Mapping[str, AnyDocument], raws: Mapping[str, RawDocument]
) -> list[Diagnostic]:
    """One error per cycle of references, at the reference that closes it, naming the path.

    The path starts at its smallest reference, so the report does not depend on
    the order of the files; the closing reference is the last one of the path.
    """
    graph = reference_graph(documents)
    out: list[Diagnostic] = []
    for component in nx.strongly_connected_components(graph):
        if len(component) == 1 and not any(graph.has_edge(n, n) for n in component):
            continue
        start = min(component)
        path = _cycle_through(graph.subgraph(component), start)
        last, closing = path[-2], path[-1]
        field = graph.edges[last, closing]["field"]
        where = raws[last].where(field) if last in raws else documents[last].location
        message = f"dependency cycle: {' -> '.join(path)}"
        out.append(error(f"{'.'.join(field)}: {message}", where, last))
    return out


def _cycle_through(component: nx.DiGraph, start: str) -> list[str]:
    """The shortest cycle from ``start`` back to itself, as ``[start, ..., start]``."""
    best: list[str] | None = None
    for successor in sorted(component.successors(start)):
        if successor == start:
            return [start, start]
        back = nx.shortest_path(component, successor, start)
        if best is None or len(back) + 1 < len(best):
            best = [start, *back]
    assert best is not None  # a strongly connected component of two or more has a way back
    return best
