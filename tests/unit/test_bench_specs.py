"""The benchmarks' generated spec sets are valid, and their graphs give the expected image loads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from benchkit import specgen  # noqa: E402
from benchkit.loads import image_loads  # noqa: E402

from imagepipe.graph import build_graph  # noqa: E402
from imagepipe.spec import load_one  # noqa: E402


@pytest.mark.parametrize(("n", "replicas"), [(100, 3), (1000, 25), (7, 1)])
def test_gallery_replicas_let_one_round_serve_each_region(n, replicas):
    assert specgen.FanoutShape(n=n, image="gallery").replicas == replicas


def test_counts_are_split_evenly_into_deployments():
    assert specgen.chunks(1000, 250) == [250, 250, 250, 250]
    assert specgen.chunks(7, 3) == [3, 2, 2]
    assert specgen.split(5, 2) == [3, 2]


@pytest.mark.parametrize("source", ["vhd", "vm"])
def test_a_managed_image_fan_out_is_valid_and_all_its_vms_load_one_image(tmp_path, source):
    shape = specgen.FanoutShape(n=7, image="managed", source=source, per_deployment=3)
    specs = specgen.write_fanout_specs(tmp_path, shape)
    load_one([specs.capture_only])
    loads = image_loads(specs.fanout)
    assert [(load.vms, load.replicas) for load in loads] == [(7, 1)]


def test_a_gallery_fan_out_loads_each_region_with_its_replicas(tmp_path):
    shape = specgen.FanoutShape(n=90, image="gallery", source="vm")
    specs = specgen.write_fanout_specs(tmp_path, shape)
    loads = image_loads(specs.fanout)
    assert sorted((load.key.split()[-1], load.vms, load.replicas) for load in loads) == [
        ("eastus", 45, 3),
        ("westus", 45, 3),
    ]


def test_a_scale_set_fan_out_counts_its_instances(tmp_path):
    shape = specgen.FanoutShape(n=30, image="managed", source="vm", mode="scaleSet")
    specs = specgen.write_fanout_specs(tmp_path, shape)
    assert [load.vms for load in image_loads(specs.fanout)] == [30]


def test_the_large_spec_set_has_the_number_of_steps_asked_for(tmp_path):
    shape = specgen.large_shape(120, captures=2, deployments=3)
    folder = specgen.write_large_spec_set(tmp_path, shape)
    assert len(build_graph(load_one([folder]))) == shape.steps
    assert shape.steps in (120, 121)
