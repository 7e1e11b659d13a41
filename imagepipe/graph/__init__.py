"""The step graph: a SpecSet expanded into addressed steps and their dependencies."""

from imagepipe.graph.build import build_graph
from imagepipe.graph.stepgraph import StepGraph

__all__ = ["StepGraph", "build_graph"]
