"""The step graph as DOT (Graphviz), Mermaid (for pull requests) and JSON."""

from __future__ import annotations

import json
from typing import Any

from imagepipe.graph.stepgraph import StepGraph


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: StepGraph) -> str:
    """A ``digraph`` with one ``subgraph cluster_N`` per document, nodes labelled by address."""
    lines = ["digraph imagepipe {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for n, (document, steps) in enumerate(_by_document(graph)):
        lines.append(f"  subgraph cluster_{n} {{")
        lines.append(f"    label={_dot_quote(document)};")
        for step in steps:
            lines.append(f"    {_dot_quote(step.address)} [label={_dot_quote(step.address)}];")
        lines.append("  }")
    for u, v in graph.edges():
        lines.append(f"  {_dot_quote(u)} -> {_dot_quote(v)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: StepGraph) -> str:
    """A Mermaid ``flowchart TD``; node ids are generated, labels are the addresses."""
    ids = {step.address: f"s{i}" for i, step in enumerate(graph.steps())}
    lines = ["flowchart TD"]
    for n, (document, steps) in enumerate(_by_document(graph)):
        lines.append(f"  subgraph d{n}[{_mermaid_label(document)}]")
        for step in steps:
            lines.append(f"    {ids[step.address]}[{_mermaid_label(step.address)}]")
        lines.append("  end")
    for u, v in graph.edges():
        lines.append(f"  {ids[u]} --> {ids[v]}")
    return "\n".join(lines) + "\n"


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_json_data(graph: StepGraph) -> dict[str, Any]:
    return {
        "nodes": [
            {"address": s.address, "document": s.document, "step": s.name, "index": s.index}
            for s in graph.steps()
        ],
        "edges": [{"from": u, "to": v} for u, v in graph.edges()],
    }


def to_json(graph: StepGraph) -> str:
    """``{"nodes": [{address, document, step, index}], "edges": [{from, to}]}``."""
    return json.dumps(to_json_data(graph), indent=2) + "\n"


def _by_document(graph: StepGraph) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for step in graph.steps():
        groups.setdefault(step.document, []).append(step)
    return list(groups.items())
