"""Load spec sets: files -> documents -> schema -> model -> rules -> reference cycles.

Every problem of every file is collected before anything is reported, so one
run of ``imagepipe validate`` shows them all, sorted by file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imagepipe.errors import Diagnostic, Location, SpecError, UsageError, error
from imagepipe.spec import rules
from imagepipe.spec.budget import SetBudget, cap_diagnostics
from imagepipe.spec.build import ModelBuilder, build_stack
from imagepipe.spec.discover import Found, discover, display_path
from imagepipe.spec.model import SpecSet
from imagepipe.spec.references import cycle_diagnostics
from imagepipe.spec.schema import check_document
from imagepipe.spec.secrets import SecretRef, env_problem
from imagepipe.spec.yamlload import RawDocument, load_file


@dataclass
class LoadResult:
    """One spec set: the model when it is valid, and every finding about it."""

    root: Path
    name: str
    specset: SpecSet | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: tuple[Path, ...] = ()
    documents: int = 0  # documents read, valid or not

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass
class _LoadedFile:
    found: Found
    documents: list[RawDocument]
    diagnostics: list[Diagnostic]

    @property
    def has_stack(self) -> bool:
        return any(isinstance(d.data, dict) and d.data.get("kind") == "Stack" for d in self.documents)


def load_spec_sets(paths: Sequence[Path]) -> list[LoadResult]:
    """Every spec set under ``paths`` with its diagnostics; a missing path raises UsageError."""
    if not paths:
        raise UsageError("no spec paths given")
    discovery = discover([Path(p) for p in paths])
    budget = SetBudget()  # bounds the sum of every file read
    loaded = [_LoadedFile(f, *_load(f.path, budget)) for f in discovery.files]
    groups = _group(loaded, [Path(p) for p in paths])
    results = [_check_set(root, files) for root, files in groups]
    if discovery.diagnostics:
        if results:
            results[0].diagnostics = sorted(
                results[0].diagnostics + discovery.diagnostics, key=Diagnostic.sort_key
            )
            results[0].specset = None
        else:
            root = Path(paths[0])
            results.append(
                LoadResult(
                    root, _folder_name(root), None, sorted(discovery.diagnostics, key=Diagnostic.sort_key)
                )
            )
    for result in results:
        result.diagnostics = cap_diagnostics(result.diagnostics, budget.reported)
    return results


def load_one(paths: Sequence[Path]) -> SpecSet:
    """Exactly one valid spec set (its warnings on ``SpecSet.warnings``)."""
    results = load_spec_sets(paths)
    if len(results) != 1:
        names = ", ".join(f"{r.name} ({display_path(r.root)})" for r in results)
        raise UsageError(f"expected one spec set, found {len(results)}: {names}; name one of them")
    result = results[0]
    if result.specset is None:
        raise SpecError(result.diagnostics)
    return result.specset


def _load(path: Path, budget: SetBudget) -> tuple[list[RawDocument], list[Diagnostic]]:
    loaded = load_file(path, display_path(path), budget)
    return loaded.documents, loaded.diagnostics


def _folder_name(path: Path) -> str:
    path = Path(path).absolute()
    return (path if path.is_dir() else path.parent).name


def _group(loaded: list[_LoadedFile], given: list[Path]) -> list[tuple[Path, list[_LoadedFile]]]:
    """Assign each file to the deepest folder above it that holds a Stack; the rest go together."""
    stack_roots = {f.found.path.parent.absolute() for f in loaded if f.has_stack}
    sets: dict[Path, list[_LoadedFile]] = {}
    rest: list[_LoadedFile] = []
    for item in loaded:
        absolute = item.found.path.absolute()
        root = next((p for p in absolute.parents if p in stack_roots), None)
        if root is None:
            rest.append(item)
        else:
            sets.setdefault(root, []).append(item)
    groups = sorted(sets.items(), key=lambda kv: str(kv[0]))
    if rest:
        groups.append((rest[0].found.given, rest))
    return groups


def _check_set(root: Path, files: list[_LoadedFile]) -> LoadResult:
    diagnostics: list[Diagnostic] = [d for f in files for d in f.diagnostics]
    documents = [d for f in files for d in f.documents]
    valid_documents: list[RawDocument] = []
    invalid_refs: set[str] = set()  # documents that exist but failed the schema
    invalid_documents: list[RawDocument] = []
    for doc in documents:
        if not isinstance(doc.data, dict):
            diagnostics.append(error(_not_a_mapping(doc.data), doc.where(())))
            continue
        if "apiVersion" not in doc.data and "kind" not in doc.data:
            message = "not an imagepipe spec document: it has no apiVersion and no kind (expected apiVersion: imagepipe/v1)"
            diagnostics.append(error(message, doc.where(())))
            continue
        problems = check_document(doc)
        diagnostics.extend(problems)
        if not problems:
            valid_documents.append(doc)
            continue
        invalid_documents.append(doc)
        if isinstance(doc.data.get("kind"), str) and isinstance(doc.get(("metadata", "name")), str):
            invalid_refs.add(f"{doc.data['kind']}/{doc.data['metadata']['name']}")

    stacks = [d for d in valid_documents if d.data["kind"] == "Stack"]
    for extra in stacks[1:]:
        diagnostics.append(
            error(
                f"kind: only one Stack per spec set (the first is at {stacks[0].where(())})",
                extra.where(("kind",)),
            )
        )
    name = _folder_name(root)
    stack = build_stack(stacks[0] if stacks else None, root, name, Location(display_path(root)))
    builder = ModelBuilder(stack, [d for d in valid_documents if d.data["kind"] != "Stack"])
    diagnostics.extend(builder.diagnostics)
    model = builder.build()
    stack_invalid = (
        any(isinstance(d.data, dict) and d.data.get("kind") == "Stack" for d in documents) and not stacks
    )
    diagnostics.extend(
        rules.check(stack, model, builder.raws, invalid_refs, stack_invalid, invalid_documents)
    )

    diagnostics.extend(_secret_problems(model.values(), root, stack.secret_env))
    specset = SpecSet(
        root=root,
        stack=stack,
        documents={stack.ref: stack, **model},
        files=tuple(f.found.path for f in files),
    )
    diagnostics.extend(cycle_diagnostics(model, builder.raws))
    diagnostics.sort(key=Diagnostic.sort_key)
    specset.warnings = [d for d in diagnostics if not d.is_error]
    has_errors = any(d.is_error for d in diagnostics)
    return LoadResult(
        root=root,
        name=stack.name,
        specset=None if has_errors else specset,
        diagnostics=diagnostics,
        files=specset.files,
        documents=len(documents),
    )


def _not_a_mapping(data: object) -> str:
    if data is None:
        return "empty document: expected a mapping with apiVersion, kind, metadata and spec"
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    kind = "a list" if isinstance(data, list) else names.get(type(data), "a scalar")
    return f"document is {kind}; expected a mapping with apiVersion, kind, metadata and spec"


def _secret_problems(
    documents: Iterable[object], root: Path, allowed: tuple[str, ...] | None
) -> list[Diagnostic]:
    """{file:} secrets must stay inside the spec set's folder (absolute, ``..`` and symlinks out are
    refused), and every secret must be readable now: a missing key file or an unset variable is
    found by validate and plan, not first by the apply on merge. Values are never printed."""
    folder = root if root.is_dir() else root.parent
    out: list[Diagnostic] = []
    for doc in documents:
        create = getattr(doc, "create", None)
        holders = [(create, "spec.create")] if create is not None else [(doc, "spec")]
        for holder, prefix in holders:
            for attribute, field_name in (
                ("ssh_public_key", "sshPublicKey"),
                ("admin_password", "adminPassword"),
            ):
                ref = getattr(holder, attribute, None)
                if not isinstance(ref, SecretRef):
                    continue
                if ref.kind == "env" and env_problem(ref.name, allowed) is not None:
                    continue  # refused by the rules already (a credential, outside secretEnv)
                reason = (ref.outside(folder) if ref.kind == "file" else None) or ref.problem()
                if reason:
                    out.append(
                        error(
                            f"{prefix}.{field_name}.{ref.kind}: {reason}",
                            ref.origin,
                            getattr(doc, "ref", None),
                        )
                    )
    return out
