"""Set up a capture, then time the `imagepipe apply` that fans out from it.

Set-up applies the capture-only spec folder (the Stack, the source, the Capture);
the timed phase is `imagepipe apply <fan-out folder> --yes` on the same stack,
where the capture is already a no-op and every Deployment is created. Deployments
cannot have count 0, so two folders of one stack is how the capture is applied
first.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchkit import figures, specgen
from benchkit.emulator import EmulatorProcess
from benchkit.loads import image_loads
from benchkit.process import ProcessRun, azure_seconds, first_write, last_json, run_process
from benchkit.runcli import CommandResult, run_imagepipe
from benchkit.sdk import ArmClients, wait_for_replication

UNSUPPORTED_MARK = "not supported"


@dataclass(frozen=True)
class Prepared:
    shape: specgen.FanoutShape  # with the source actually used
    specs: specgen.FanoutSpecs | None
    error: str | None = None


def prepare_capture(
    shape: specgen.FanoutShape, source: str, workdir: Path, emulator: EmulatorProcess
) -> Prepared:
    """Apply the capture; with source `auto`, a SourceVHD first, else a SourceVM the engine can capture."""
    candidates = ["vhd", "vm"] if source == "auto" else [source]
    error = None
    for candidate in candidates:
        attempt = replace(shape, source=candidate)
        specs = specgen.write_fanout_specs(workdir / f"specs-{candidate}", attempt)
        result = run_imagepipe(
            ["apply", str(specs.capture_only), "--yes"],
            emulator.env,
            workdir / "logs" / f"setup-{candidate}.log",
        )
        if result.ok:
            if attempt.image == "gallery":
                clients = ArmClients(emulator.env)
                try:
                    wait_for_replication(clients)
                finally:
                    clients.close()
            return Prepared(attempt, specs)
        error = f"set-up ({candidate} source): {result.describe_failure()}"
        if UNSUPPORTED_MARK not in result.last_lines(5):
            break
    return Prepared(shape, None, error)


def wait_for_full_buckets(speed: float) -> None:
    """Let the set-up's writes refill, so every measured run starts from the same token levels."""
    time.sleep(figures.WRITE_BUCKET_CAPACITY / figures.WRITE_REFILL_PER_SECOND / speed)


def timed_command(
    args: list[str], emulator: EmulatorProcess, log: Path, profile: Path | None = None
) -> tuple[CommandResult, figures.RequestCounts]:
    """Run one imagepipe command between two stats snapshots; optionally profile it."""
    before = emulator.stats()
    with _profiler(profile):
        result = run_imagepipe(args, emulator.env, log)
    after = emulator.stats()
    return result, figures.request_deltas(before, after)


def timed_process(
    args: list[str], emulator: EmulatorProcess, log: Path
) -> tuple[ProcessRun, figures.RequestCounts, float | None]:
    """Run one imagepipe command as its own process between two stats snapshots; answers the run,
    the requests it made and when its first write reached the emulator."""
    request_log = emulator.request_log(True)
    before = emulator.stats()
    run = run_process(args, emulator.env, log)
    after = emulator.stats()
    emulator.request_log(False)
    return run, figures.request_deltas(before, after), first_write(request_log, run.started)


def apply_record(
    bench: str,
    prepared: Prepared,
    speed: float,
    emulator: EmulatorProcess,
    workdir: Path,
    profile: Path | None = None,
    parallelism: int | None = None,
) -> dict[str, Any]:
    """Time the whole `imagepipe apply` process (at the engine's default --parallelism unless given)."""
    shape = prepared.shape
    record: dict[str, Any] = {"bench": bench, "n": shape.n, "image": shape.image}
    if prepared.specs is None:
        return record | {"error": prepared.error}
    wait_for_full_buckets(speed)
    args = ["apply", str(prepared.specs.fanout), "--yes", "-o", "json"]
    if parallelism is not None:
        args += ["--parallelism", str(parallelism)]
    log = workdir / "logs" / f"{bench}-apply.log"
    if profile is not None:  # in process, so that pyinstrument sees it (start-up not counted)
        result, counts = timed_command(args, emulator, log, profile)
        run = None
        started_at, client_s, azure_s = time.time() - result.wall_seconds, 0.0, result.wall_seconds * speed
    else:
        run, counts, first_write_at = timed_process(args, emulator, log)
        result = run
        started_at = run.started
        client_s, azure_s = azure_seconds(run, first_write_at, speed)
    create = (
        "VirtualMachineScaleSets_CreateOrUpdate"
        if shape.mode == "scaleSet"
        else "VirtualMachines_CreateOrUpdate"
    )
    creates = figures.in_flight_profile(emulator.journal(create), started_at, speed)
    nics = figures.in_flight_profile(emulator.journal("NetworkInterfaces_CreateOrUpdate"), started_at, speed)
    loads = image_loads(prepared.specs.fanout)
    lower_bound = figures.lower_bound_seconds(loads, counts.accepted_writes)
    floor, floor_bound = figures.budget_floor_seconds(loads, counts.accepted_writes)
    if shape.mode == "scaleSet":
        # One scale set per region provisions its instances together: one VM create at least.
        lower_bound = max(figures.VM_CREATE_SECONDS, figures.write_bucket_seconds(counts.accepted_writes))
        floor, floor_bound = lower_bound, "one scale set create"
    record |= figures.timing_fields(result.wall_seconds, speed, lower_bound, floor)
    # The whole process: its start-up and planning in real seconds, the rest in Azure's.
    record |= {
        "client_seconds_before_first_write": round(client_s, 2),
        "sim_seconds": round(azure_s, 1),
        "efficiency": figures.efficiency(lower_bound, azure_s),
        "floor_efficiency": figures.efficiency(floor, azure_s),
        "floor_bound": floor_bound,
    }
    summary = last_json(log)
    if summary.get("estimate_s"):
        record |= {
            "estimate_seconds": summary["estimate_s"],
            "estimate_error": round(summary["estimate_s"] / azure_s - 1, 3) if azure_s else None,
        }
    record |= figures.request_fields(counts)
    record["throttled_by_policy"] = counts.throttled_by_policy
    record |= figures.machine_fields() | {"client_cpu_seconds": round(result.cpu_seconds, 2)}
    if run is not None:
        record |= {"peak_rss_mb": run.peak_rss_mb, "peak_threads": run.peak_threads}
    record |= {
        "mode": shape.mode,
        "parallelism": parallelism or "default",
        "creates": creates,
        "nic_creates": nics if nics["count"] else None,
        "capture_source": shape.source,
        "replicas_per_region": shape.replicas if shape.image == "gallery" else None,
        "resources": emulator.stats()
        .get("resources", {})
        .get(
            "Microsoft.Compute/virtualMachineScaleSets"
            if shape.mode == "scaleSet"
            else "Microsoft.Compute/virtualMachines"
        ),
    }
    if not result.ok:
        # A failed apply did not do the work: its time says nothing about efficiency.
        record |= {"efficiency": None, "floor_efficiency": None, "error": result.describe_failure()}
    return record


def run_fanout(
    bench: str,
    shape: specgen.FanoutShape,
    source: str,
    speed: float,
    workdir: Path,
    profile: Path | None = None,
    parallelism: int | None = None,
) -> dict[str, Any]:
    """A fresh emulator, the capture set up, the fan-out timed."""
    with EmulatorProcess(workdir / "emulator", speed) as emulator:
        prepared = prepare_capture(shape, source, workdir, emulator)
        return apply_record(bench, prepared, speed, emulator, workdir, profile, parallelism)


@contextmanager
def workdir_for(keep: Path | None, label: str) -> Iterator[Path]:
    """A temporary folder for one run, or `keep/label` when the caller wants to look at it after."""
    if keep is not None:
        folder = keep / label
        folder.mkdir(parents=True, exist_ok=True)
        yield folder.resolve()
        return
    with tempfile.TemporaryDirectory(prefix=f"imagepipe-bench-{label}-") as tmp:
        yield Path(tmp)


def _profiler(path: Path | None) -> Any:
    if path is None:
        return nullcontext()
    return _Profiled(path)


class _Profiled:
    """pyinstrument over the command; it samples the main thread (planning), not the apply workers."""

    def __init__(self, path: Path) -> None:
        from pyinstrument import Profiler

        self.path = path
        self.profiler = Profiler(interval=0.005)

    def __enter__(self) -> None:
        self.profiler.start()

    def __exit__(self, *exc: object) -> None:
        self.profiler.stop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
