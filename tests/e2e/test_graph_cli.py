"""`imagepipe graph`: DOT that parses, Mermaid for pull requests, JSON with the same nodes and edges."""

import json
import subprocess
import sys
from pathlib import Path

import pydot
import pytest
from cli_run import Ran, invoke_cli

# pydot's parser uses pyparsing names that newer pyparsing deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> Ran:
    return invoke_cli(*args, cwd=ROOT)


def run_child(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagepipe.cli.main", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_dot_parses_and_orders_generalize_image_vm() -> None:
    result = run_child("graph", "specs/learn-exercise")
    assert result.returncode == 0, result.stderr
    (dot,) = pydot.graph_from_dot_data(result.stdout)
    clusters = {s.get_name().strip('"'): s for s in dot.get_subgraphs()}
    assert all(name.startswith("cluster_") for name in clusters)
    labels = {s.get_label().strip('"') for s in clusters.values()}
    assert {"SourceVM/source", "Capture/my-image", "Deployment/new-vm"} <= labels
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"')) for e in dot.get_edges()}
    assert ("Capture/my-image/generalize", "Capture/my-image/image") in edges
    assert ("Capture/my-image/image", "Deployment/new-vm/vm[0]") in edges


def test_json_lists_the_same_nodes_and_edges_as_dot() -> None:
    as_json = json.loads(run("graph", "specs/fleet", "--format", "json").stdout)
    (dot,) = pydot.graph_from_dot_data(run("graph", "specs/fleet", "--format", "dot").stdout)
    dot_nodes = {n.get_name().strip('"') for s in dot.get_subgraphs() for n in s.get_nodes()}
    dot_edges = {(e.get_source().strip('"'), e.get_destination().strip('"')) for e in dot.get_edges()}
    assert {n["address"] for n in as_json["nodes"]} == dot_nodes
    assert {(e["from"], e["to"]) for e in as_json["edges"]} == dot_edges
    node = next(n for n in as_json["nodes"] if n["address"] == "Deployment/web-west/vm[7]")
    assert node == {
        "address": "Deployment/web-west/vm[7]",
        "document": "Deployment/web-west",
        "step": "vm",
        "index": 7,
    }
    order = [n["address"] for n in as_json["nodes"]]
    assert order.index("Capture/web-image/gallery-version") < order.index("Deployment/web-east/vm[0]")


def test_mermaid_flowchart() -> None:
    result = run("graph", "specs/snapshot-restore", "--format", "mermaid")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    assert any('["Capture/app-snapshot/snapshots"]' in line for line in lines)
    assert sum(line.strip() == "end" for line in lines) == sum(
        line.strip().startswith("subgraph") for line in lines
    )
    assert any("-->" in line for line in lines)


def test_invalid_specs_print_diagnostics_and_exit_1() -> None:
    result = run("graph", "tests/cases/dependency-cycle")
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        "tests/cases/dependency-cycle/specs.yaml:37:12: error: spec.create.image: dependency cycle: "
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_several_spec_sets_are_a_usage_error() -> None:
    result = run("graph", "specs")
    assert result.returncode == 1
    assert "expected one spec set, found 4" in result.stderr
