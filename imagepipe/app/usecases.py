"""What imagepipe does, one function per command: validate, graph, plan, apply, show, destroy,
output, unlock, serve.

Each use case takes a typed request and returns a typed outcome; it neither
parses options nor prints. Where a person takes part while it runs (see the plan,
confirm, watch the progress) it calls the ``Hooks`` it is given. Errors are
raised as ImagepipeError subclasses and become exit codes in ``cli/main.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imagepipe.app import outputs, run
from imagepipe.app.outputs import DocumentOutputs
from imagepipe.app.run import RunOutcome
from imagepipe.app.session import Session, open_session
from imagepipe.apply.events import EventSink, discard
from imagepipe.apply.lock import force_unlock, wait_until_free
from imagepipe.azure.target import connect
from imagepipe.emulator import DEFAULT_CLIENT_SECRET, statedir
from imagepipe.emulator.server import Emulator
from imagepipe.emulator.store import DB_FILE
from imagepipe.errors import Diagnostic, ImagepipeError, UsageError
from imagepipe.graph import StepGraph, build_graph
from imagepipe.plan import model as plan_file
from imagepipe.plan.model import Change, Plan
from imagepipe.plan.planner import make_plan
from imagepipe.spec import LoadResult, load_one, load_spec_sets
from imagepipe.target_config import TargetConfig
from imagepipe.vocabulary import StepKind

DEFAULT_PATHS = (Path("."),)


# Actions that cannot be undone whatever is applied next: a deprovisioned or generalized VM
# never boots as itself again. Deletions and replacements are irreversible as well.
IRREVERSIBLE_KINDS = frozenset({StepKind.CAPTURE_DEPROVISION, StepKind.CAPTURE_GENERALIZE})


@dataclass(frozen=True)
class Hooks:
    """How a running use case shows its plan, asks for confirmation and reports progress.

    ``confirm`` gets the plan and its irreversible changes (a person then types `yes` in full)."""

    show_plan: Callable[[Plan], None] = lambda plan: None
    confirm: Callable[[Plan, list[Change]], bool] = lambda plan, irreversible: True
    on_event: EventSink = discard
    on_start: Callable[[dict[str, int]], None] = lambda totals: None
    notice: Callable[[str], None] = lambda message: None  # e.g. waiting for the stack's lock


def irreversible_changes(plan: Plan, graph: StepGraph | None) -> list[Change]:
    """The plan's changes that no later apply can undo: deletions, replacements, and the steps
    that deprovision or generalize a VM."""

    def irreversible(change: Change) -> bool:
        if change.action in ("delete", "replace"):
            return True
        step = graph.step(change.address) if graph is not None and change.address in graph else None
        return change.action == "action" and step is not None and step.kind in IRREVERSIBLE_KINDS

    return [change for change in plan.changes if irreversible(change)]


def _confirm_in(session: Session, hooks: Hooks) -> Callable[[Plan], bool]:
    return lambda plan: hooks.confirm(plan, irreversible_changes(plan, session.graph))


# -- validate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidateRequest:
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class ValidateOutcome:
    results: list[LoadResult]

    @property
    def valid(self) -> bool:
        return all(result.valid for result in self.results)


def validate(request: ValidateRequest) -> ValidateOutcome:
    """Every spec set under the paths with every finding about it."""
    return ValidateOutcome(load_spec_sets(request.paths))


# -- graph ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphRequest:
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class GraphOutcome:
    graph: StepGraph
    warnings: list[Diagnostic] = field(default_factory=list)


def graph(request: GraphRequest) -> GraphOutcome:
    """The step graph of exactly one valid spec set."""
    specset = load_one(request.paths)
    return GraphOutcome(build_graph(specset), list(specset.warnings))


# -- plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRequest:
    paths: tuple[Path, ...]
    target: TargetConfig
    prune: bool = False
    # None: plan whatever runs; seconds: first wait up to that long while a run holds the stack
    lock_timeout: float | None = None
    notice: Callable[[str], None] = lambda message: None


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan

    def refuse_conflicts(self) -> None:
        """Raise ConflictError when a wanted name is taken by a resource this stack does not own."""
        run.refuse_conflicts(self.plan)


def plan(request: PlanRequest) -> PlanOutcome:
    """What apply would change, observed on the target; nothing is changed."""
    with open_session(request.paths or DEFAULT_PATHS, request.target) as session:
        if request.lock_timeout is not None:
            wait_until_free(session.target, session.specset.name, request.lock_timeout, request.notice)
        planned = make_plan(
            session.specset, session.graph, session.azure, paths=session.paths, prune=request.prune
        )
    return PlanOutcome(planned.plan)


# -- apply ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyRequest:
    paths: tuple[Path, ...]
    target: TargetConfig
    prune: bool = False
    parallelism: int | None = None
    lock_timeout: float = 0.0  # seconds to wait while another run holds the stack


def apply(request: ApplyRequest, hooks: Hooks = Hooks()) -> RunOutcome:
    """Plan, show the plan, confirm, then make the target match the specs."""
    paths = request.paths or DEFAULT_PATHS
    with open_session(
        paths, request.target, lock_timeout=request.lock_timeout, notice=hooks.notice
    ) as session:
        return run.apply_specs(
            session,
            prune=request.prune,
            parallelism=request.parallelism,
            show_plan=hooks.show_plan,
            confirm=_confirm_in(session, hooks),
            on_event=hooks.on_event,
            on_start=hooks.on_start,
        )


@dataclass(frozen=True)
class SavedPlanRequest:
    plan_file: Path
    target: TargetConfig
    prune: bool = False  # refused: a saved plan carries its own --prune
    parallelism: int | None = None
    lock_timeout: float = 0.0


def read_plan_file(path: Path) -> Plan:
    """A saved plan, checked against its schema (and its paths kept inside its spec root) before
    anything of it is used; its paths resolved from the plan file's folder."""
    try:
        return plan_file.read_plan_file(path)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ImagepipeError(f"{path}: not a plan file saved by `imagepipe plan --out`: {reason}") from None


def apply_saved_plan(request: SavedPlanRequest, hooks: Hooks = Hooks()) -> RunOutcome:
    """Execute exactly a saved plan, after checking that neither the specs nor the target changed."""
    saved = read_plan_file(request.plan_file)
    if request.prune:
        raise UsageError("--prune comes from the saved plan: make it with `plan --prune --out FILE`")
    paths = [Path(p) for p in saved.paths]
    missing = next((path for path in paths if not path.exists()), None)
    if missing is not None:
        raise ImagepipeError(
            f"{request.plan_file}: the specs the plan was made from are not at {missing}: a plan file "
            "names them relative to itself, so keep it where `plan --out` wrote it relative to the specs"
        )
    with open_session(
        paths, request.target, lock_timeout=request.lock_timeout, notice=hooks.notice
    ) as session:
        return run.apply_saved_plan(
            saved,
            session,
            parallelism=request.parallelism,
            on_event=hooks.on_event,
            on_start=hooks.on_start,
        )


# -- show ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowRequest:
    plan_file: Path


@dataclass(frozen=True)
class ShowOutcome:
    plan: Plan


def show(request: ShowRequest) -> ShowOutcome:
    """A saved plan, checked as `apply` checks it; nothing is read from the target."""
    return ShowOutcome(read_plan_file(request.plan_file))


# -- output --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputRequest:
    paths: tuple[Path, ...]
    target: TargetConfig


@dataclass(frozen=True)
class OutputOutcome:
    stack: str
    documents: list[DocumentOutputs]

    def to_json(self) -> dict:
        return {"stack": self.stack, "documents": {doc.document: doc.to_json() for doc in self.documents}}


def output(request: OutputRequest) -> OutputOutcome:
    """Per document, the ids downstream jobs need, read from the target; nothing is changed."""
    with open_session(request.paths or DEFAULT_PATHS, request.target) as session:
        return OutputOutcome(
            session.specset.name, outputs.collect(session.azure, session.specset, session.graph)
        )


# -- destroy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestroyRequest:
    paths: tuple[Path, ...]
    target: TargetConfig
    parallelism: int = 10
    lock_timeout: float = 0.0


def destroy(request: DestroyRequest, hooks: Hooks = Hooks()) -> RunOutcome:
    """Delete what the stack owns in its resource groups; the plan is shown only when there is
    something to delete or an owned resource outside them to report."""
    paths = request.paths or DEFAULT_PATHS
    with open_session(
        paths, request.target, lock_timeout=request.lock_timeout, notice=hooks.notice
    ) as session:
        return run.destroy(
            session,
            parallelism=request.parallelism,
            show_plan=hooks.show_plan,
            confirm=_confirm_in(session, hooks),
            on_event=hooks.on_event,
            on_start=hooks.on_start,
        )


# -- unlock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnlockRequest:
    stack: str
    target: TargetConfig


@dataclass(frozen=True)
class UnlockOutcome:
    released: bool
    holder: str  # who held it: command, host, pid, lease expiry


def unlock(request: UnlockRequest, confirm: Callable[[str], bool]) -> UnlockOutcome:
    """Release a stack's lease by hand, after ``confirm`` saw its holder; no spec is read."""
    with connect(request.target) as target:
        released, holder = force_unlock(target, request.stack, confirm)
    return UnlockOutcome(released, holder)


# -- emulator serve ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServeRequest:
    state_file: Path  # the SQLite file, or a folder for DB_FILE in it
    host: str = "127.0.0.1"
    port: int = 8443
    speed: float = 100.0
    throttling: bool = True
    client_secret: str = DEFAULT_CLIENT_SECRET


@dataclass(frozen=True)
class Listening:
    """The emulator is bound and about to serve."""

    emulator: Emulator
    state_dir: Path


@dataclass(frozen=True)
class CannotListen:
    message: str


def serve_emulator(
    request: ServeRequest, on_listening: Callable[[Listening], None] = lambda listening: None
) -> Listening | CannotListen:
    """Bind, tell ``on_listening``, then serve in this thread until Ctrl-C or SIGTERM."""
    # Absolute, so the printed CA path still works after `cd` in the shell that evals it.
    given = request.state_file.expanduser()
    is_file = bool(given.suffix) and not given.is_dir()
    try:
        # Checked as the user named it: resolving first would follow a committed `.imagepipe` link.
        state_dir = statedir.prepare(given.parent if is_file else given)
        emulator = Emulator(
            state_dir,
            db_name=given.name if is_file else DB_FILE,
            speed=request.speed,
            throttling=request.throttling,
            host=request.host,
            port=request.port,
            client_secret=request.client_secret,
        )
    except statedir.StateFolderError as error:
        return CannotListen(str(error))
    except OSError as error:
        return CannotListen(f"cannot listen on {request.host}:{request.port}: {error.strerror or error}")
    listening = Listening(emulator, state_dir)
    on_listening(listening)
    emulator.serve_forever()
    return listening
