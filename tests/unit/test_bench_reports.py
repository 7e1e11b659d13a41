"""The comparisons the benchmark scripts print: imagepipe vs naive, scale set vs VMs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import fanout  # noqa: E402
import naive  # noqa: E402
import scaleset  # noqa: E402
from benchkit import specgen  # noqa: E402


def test_the_speedup_over_naive_is_naive_time_over_imagepipe_time():
    record = fanout.with_ratio({"sim_seconds": 1000.0}, {"sim_seconds": 3500.0})
    assert record["speedup_vs_naive"] == 3.5
    assert record["naive_sim_seconds"] == 3500.0


def test_no_speedup_is_claimed_when_the_naive_run_failed():
    record = fanout.with_ratio({"sim_seconds": 1000.0}, {"sim_seconds": 50.0, "error": "set-up failed"})
    assert "speedup_vs_naive" not in record


def test_the_scale_set_is_compared_with_the_vm_fan_out():
    record = scaleset.compare({"writes": 5, "sim_seconds": 200.0}, {"writes": 2000, "sim_seconds": 3000.0})
    assert record["vms_writes_ratio"] == 400.0
    assert record["vms_sim_ratio"] == 15.0


def test_naive_creates_each_vm_from_the_capture_with_its_own_nic():
    image = naive.image_id("sub", specgen.FanoutShape(n=10, image="gallery"))
    assert image.endswith("/galleries/benchgallery/images/golden/versions/1.0.0")
    body = naive.vm_body("eastus", "fleet-00-0001", image, "/nic/id", "ssh-ed25519 AAAA")
    assert body["properties"]["storageProfile"]["imageReference"] == {"id": image}
    assert body["properties"]["networkProfile"]["networkInterfaces"][0]["id"] == "/nic/id"


def test_defaults_cover_both_sizes_and_both_image_kinds():
    args = fanout.parse_args([])
    assert (args.n, args.image, args.source) == (None, None, "auto")
    assert fanout.DEFAULT_SIZES == (100, 1000)
