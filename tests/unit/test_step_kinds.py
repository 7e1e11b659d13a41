"""Step kinds: stamped once by the graph builder, each reconciled by one handler, and the
engine's modules in layers (no circle, no function-local import, no handler importing another)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from imagepipe.graph import build_graph
from imagepipe.spec import load_one
from imagepipe.steps.registry import HANDLERS, handler_for
from imagepipe.vocabulary import Phase, StepKind

ROOT = Path(__file__).resolve().parents[2]
SPEC_SETS = sorted(p for p in (ROOT / "specs").iterdir() if p.is_dir()) + sorted(
    (ROOT / "tests" / "golden").glob("*/specs")
)


@pytest.mark.parametrize("folder", SPEC_SETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_step_has_a_kind_its_handler_reconciles(folder: Path) -> None:
    graph = build_graph(load_one([folder]))
    for step in graph.steps():
        assert handler_for(step) is HANDLERS[step.kind]
        kind_of_document = step.document.split("/", 1)[0]
        if kind_of_document in ("ResourceGroup", "VirtualNetwork"):
            assert step.kind.phase is Phase.NETWORK
        else:
            assert step.kind.phase.value == kind_of_document


def test_only_deletions_have_no_handler_of_the_registry() -> None:
    assert set(StepKind) - set(HANDLERS) == {StepKind.DELETION}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, whether the import is inside a function or class) of one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("imagepipe"):
            found += [(f"{node.module}.{alias.name}", node.col_offset > 0) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.col_offset > 0) for a in node.names if a.name.startswith("imagepipe")]
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


ENGINE = [p for pkg in ("steps", "plan", "apply") for p in (ROOT / "imagepipe" / pkg).rglob("*.py")]
COMPOSITION_ROOT = {"imagepipe.apply.lock"}  # the stack lock keeps its lease in the target


def test_the_engine_imports_no_module_of_the_wire_and_none_inside_functions() -> None:
    for path in ENGINE:
        module = _module(path)
        for imported, local in _imports(path):
            if not module.startswith("imagepipe.apply."):  # the composition root loads lazily
                assert not local, f"{module} imports {imported} inside a function"
            if module not in COMPOSITION_ROOT:
                assert not imported.startswith("imagepipe.azure"), f"{module} imports {imported}"


def test_no_handler_imports_another_and_the_engine_has_no_import_circle() -> None:
    graph = nx.DiGraph()
    modules = {_module(p) for p in ENGINE}
    for path in ENGINE:
        module = _module(path)
        for imported, _ in _imports(path):
            target = imported if imported in modules else imported.rsplit(".", 1)[0]
            if target in modules and target != module:
                graph.add_edge(module, target)
            if module.startswith("imagepipe.steps.handlers."):
                assert not target.startswith("imagepipe.steps.handlers"), f"{module} imports {target}"
    assert list(nx.simple_cycles(graph)) == []
