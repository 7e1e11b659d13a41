"""The benchmarks' arithmetic: the lower bound Azure allows, efficiency, request deltas, the JSON line."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from benchkit import figures  # noqa: E402
from benchkit.emulator import parse_exports  # noqa: E402

REQUIRED_KEYS = {
    "wall_seconds",
    "sim_seconds",
    "lower_bound_seconds",
    "efficiency",
    "reads",
    "writes",
    "throttled",
}


def stats(get: int, put: int, post: int, throttled: int, polls: int = 0) -> dict:
    return {
        "requests": {"GET": get, "PUT": put, "POST": post, "DELETE": 0, "PATCH": 0},
        "operations": {"OperationStatus_Get": polls, "VirtualMachines_CreateOrUpdate": put},
        "throttled": throttled,
        "latency_ms": {"p50": 0.2, "p95": 0.9, "max": 12.0},
    }


def test_a_managed_image_serves_twenty_vms_a_round():
    loads = [figures.ImageLoad("image", vms=1000)]
    assert figures.critical_path_seconds(loads) == 50 * 60.0


def test_gallery_replicas_multiply_what_a_region_serves_at_once():
    loads = [figures.ImageLoad("east", vms=500, replicas=25), figures.ImageLoad("west", vms=500, replicas=25)]
    assert figures.critical_path_seconds(loads) == 60.0
    assert figures.critical_path_seconds([figures.ImageLoad("east", vms=501, replicas=25)]) == 120.0


def test_the_write_bucket_bounds_a_fan_out_whose_images_do_not():
    loads = [figures.ImageLoad("east", vms=500, replicas=25)]
    # 2,000 writes: 200 from the full bucket, then 10 a second
    assert figures.lower_bound_seconds(loads, writes=2000) == 180.0
    assert figures.lower_bound_seconds(loads, writes=150) == 60.0


def test_the_floor_adds_the_last_vm_create_after_the_last_write_token():
    loads = [figures.ImageLoad("east", vms=500, replicas=25)]
    assert figures.floor_seconds(loads, writes=1010) == 81.0 + 60.0
    assert figures.floor_seconds(loads, writes=150) == 60.0  # within the bucket: the images bound it
    fields = figures.timing_fields(wall_seconds=3.0, speed=50.0, lower_bound=81.0, floor=141.0)
    assert fields["floor_seconds"] == 141.0 and fields["floor_efficiency"] == 0.94


def test_efficiency_is_the_lower_bound_over_simulated_time():
    fields = figures.timing_fields(wall_seconds=12.0, speed=50.0, lower_bound=300.0)
    assert fields["sim_seconds"] == 600.0
    assert fields["efficiency"] == 0.5


def test_request_deltas_cover_only_the_measured_phase():
    counts = figures.request_deltas(stats(10, 5, 1, 0, polls=3), stats(110, 45, 6, 2, polls=53))
    assert (counts.reads, counts.writes, counts.polls, counts.throttled) == (100, 45, 50, 2)
    assert counts.accepted_writes == 43
    assert counts.operations["VirtualMachines_CreateOrUpdate"] == 40


def test_the_json_line_has_the_keys_issue_6_asks_for():
    counts = figures.request_deltas(stats(0, 0, 0, 0), stats(30, 20, 0, 0, polls=10))
    record = {"bench": "fanout", "n": 10, "image": "managed"}
    record |= figures.timing_fields(2.0, 50.0, 60.0) | figures.request_fields(counts)
    parsed = json.loads(figures.json_line(record))
    assert parsed.keys() >= REQUIRED_KEYS
    assert parsed["latency_ms"] == {"p50": 0.2, "p95": 0.9, "max": 12.0}


def test_the_table_shows_one_column_per_run(capsys):
    figures.show("runs", [{"bench": "fanout", "n": 10, "error": "x" * 200}, {"bench": "naive", "n": 10}])
    out = capsys.readouterr().out
    assert "fanout 10" in out and "naive 10" in out
    assert "x" * 200 not in out  # long errors are cut in the table, kept whole in the JSON line


def test_export_lines_of_the_emulator_are_parsed_like_a_shell_would():
    text = "export IMAGEPIPE_ENDPOINT=https://127.0.0.1:4443\nexport IMAGEPIPE_CA_FILE='/tmp/a b/ca.pem'\nserving\n"
    assert parse_exports(text) == {
        "IMAGEPIPE_ENDPOINT": "https://127.0.0.1:4443",
        "IMAGEPIPE_CA_FILE": "/tmp/a b/ca.pem",
    }


def test_the_journal_shows_how_many_creates_ran_at_once():
    entries = [
        {"startTime": "2026-01-01T00:00:01Z", "endTime": "2026-01-01T00:00:03Z"},
        {"startTime": "2026-01-01T00:00:02Z", "endTime": "2026-01-01T00:00:04Z"},
        {"startTime": "2026-01-01T00:00:04Z", "endTime": "2026-01-01T00:00:05Z"},
        {"startTime": "2025-12-31T23:59:59Z", "endTime": "2026-01-01T00:00:01Z"},  # before the run
    ]
    since = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    profile = figures.in_flight_profile(entries, since, speed=10.0)
    assert profile == {"count": 3, "max_in_flight": 2, "first_start_sim_s": 10.0, "last_end_sim_s": 50.0}
