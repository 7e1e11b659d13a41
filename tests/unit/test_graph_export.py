"""Exports: every step and dependency appears once, names are escaped, ids are unique."""

import json
from pathlib import Path

import pydot
import pytest

from imagepipe.graph import StepGraph, build_graph
from imagepipe.graph.export import to_dot, to_json, to_mermaid
from imagepipe.spec import load_one

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SPECS = Path(__file__).resolve().parents[2] / "specs"


@pytest.fixture(scope="module")
def graph() -> StepGraph:
    return build_graph(load_one([SPECS / "fleet"]))


def test_json_is_the_graph(graph: StepGraph) -> None:
    data = json.loads(to_json(graph))
    assert [n["address"] for n in data["nodes"]] == [s.address for s in graph.steps()]
    assert {(e["from"], e["to"]) for e in data["edges"]} == set(graph.graph.edges)


def test_dot_has_one_cluster_per_document(graph: StepGraph) -> None:
    (dot,) = pydot.graph_from_dot_data(to_dot(graph))
    documents = {s.document for s in graph.steps()}
    assert len(dot.get_subgraphs()) == len(documents)
    assert len(dot.get_edges()) == graph.graph.number_of_edges()


def test_mermaid_ids_are_unique_and_edges_complete(graph: StepGraph) -> None:
    lines = to_mermaid(graph).splitlines()
    node_lines = [line.strip() for line in lines if line.startswith("    s")]
    ids = [line.split("[", 1)[0] for line in node_lines]
    assert len(ids) == len(set(ids)) == len(graph)
    assert sum("-->" in line for line in lines) == graph.graph.number_of_edges()
