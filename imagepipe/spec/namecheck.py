"""Every name a spec set will create: valid for Azure, and made by one document only.

Names are those of docs/internals.md ("Names and tags"). Azure compares names
case-insensitively within a resource group and resource type, so two
documents that would make the same name there would take over each other's
resource; both places are reported. A VM's NIC (``<vm>-nic``) and disks
(``<vm>-osdisk``, ``<vm>-data<lun>``) follow from its name, so they collide
exactly when VM names do; snapshots ``<p>-os``/``<p>-data<lun>`` likewise
follow from their prefix ``p``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from imagepipe.errors import Diagnostic, Location, error
from imagepipe.spec.model import AnyDocument, Capture, Deployment, SourceVM
from imagepipe.spec.names import (
    NameRule,
    PatternError,
    name_problem,
    parse_pattern,
    resource_rule,
    scale_set_rule,
    vm_rule,
)
from imagepipe.spec.yamlload import PathKey, RawDocument


@dataclass(frozen=True)
class Claim:
    """One name a document makes, and where the spec says so."""

    what: str  # "VM", "snapshots", "image", ...
    resource_group: str
    name: str
    ref: str
    field: str
    location: Location
    note: str = ""  # what the name is for, when the field does not say

    def describe(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.what} '{self.name}'{note} in resource group {self.resource_group}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.what, self.resource_group.lower(), self.name.lower())


class NameCheck:
    def __init__(self, documents: dict[str, AnyDocument], raws: dict[str, RawDocument]):
        self.documents = documents
        self.raws = raws
        self.out: list[Diagnostic] = []

    def run(self) -> list[Diagnostic]:
        claims: dict[tuple[str, str, str], Claim] = {}
        reported: set[tuple[str, str]] = set()
        for ref, doc in self.documents.items():
            for claim in self._claims(ref, doc):
                first = claims.setdefault(claim.key, claim)
                if first is claim or first.ref == claim.ref:
                    continue
                pair = (first.ref, claim.ref)
                if pair in reported:
                    continue
                reported.add(pair)
                self._collision(first, claim)
        return self.out

    # -- helpers ---------------------------------------------------------------------------

    def _error(self, ref: str, field: str, location: Location, message: str) -> None:
        self.out.append(error(f"{field}: {message}", location, ref))

    def _where(
        self, ref: str, path: PathKey, fallback: PathKey = ("metadata", "name")
    ) -> tuple[str, Location]:
        raw = self.raws[ref]
        path = path if raw.has(path) else fallback
        return _field(path), raw.where(path)

    def _check(
        self, ref: str, path: PathKey, name: str, rule: NameRule, fallback: PathKey = ("metadata", "name")
    ) -> bool:
        problem = name_problem(name, rule)
        if problem is not None:
            field, location = self._where(ref, path, fallback)
            self._error(ref, field, location, problem)
        return problem is None

    def _collision(self, first: Claim, second: Claim) -> None:
        for this, other in ((second, first), (first, second)):
            alias = f", as {other.describe()}" if other.describe() != this.describe() else ""
            self._error(
                this.ref,
                this.field,
                this.location,
                f"{this.describe()} is also made by {other.ref} ({other.location}){alias}; "
                "a name must be made by one document (Azure compares names without case)",
            )

    def _os_of_capture(self, capture_ref: str) -> str:
        capture = self.documents.get(capture_ref)
        source = self.documents.get(capture.source) if isinstance(capture, Capture) else None
        return getattr(source, "os_type", "Linux")

    # -- kinds -----------------------------------------------------------------------------

    def _claims(self, ref: str, doc: AnyDocument) -> Iterator[Claim]:
        if isinstance(doc, SourceVM):
            yield from self._source_vm(ref, doc)
        elif isinstance(doc, Capture):
            yield from self._capture(ref, doc)
        elif isinstance(doc, Deployment):
            yield from self._deployment(ref, doc)

    def _source_vm(self, ref: str, vm: SourceVM) -> Iterator[Claim]:
        field, location = self._where(ref, ("spec", "vmName"))
        # An existing VM is not made here, but a name that equals it would take it over.
        if vm.existing or self._check(ref, ("spec", "vmName"), vm.vm_name, vm_rule(vm.os_type)):
            yield Claim("VM", vm.resource_group, vm.vm_name, ref, field, location)

    def _capture(self, ref: str, capture: Capture) -> Iterator[Claim]:
        source = self.documents.get(capture.source)
        field, location = self._where(ref, ("metadata", "name"))
        snapshots = capture.snapshots
        if capture.quiesce == "restorePoint" and isinstance(source, SourceVM):
            snapshots = None  # its disk restore points are the copies: no snapshot is made
        if capture.type == "specialized" and snapshots is not None:
            yield Claim(
                "snapshots",
                snapshots.resource_group,
                f"{capture.name}-os",
                ref,
                field,
                location,
                "and -data<lun>",
            )
        if capture.type != "generalized":
            return
        if capture.image is not None:
            image_field, image_location = self._where(ref, ("spec", "image", "name"))
            if self._check(ref, ("spec", "image", "name"), capture.image.name, resource_rule()):
                yield Claim(
                    "image",
                    capture.image.resource_group,
                    capture.image.name,
                    ref,
                    image_field,
                    image_location,
                )
        if capture.gallery is not None:
            gallery = capture.gallery
            version = f"{gallery.name}/{gallery.definition.name}/{gallery.version}"
            version_field, version_location = self._where(ref, ("spec", "gallery", "version"))
            yield Claim(
                "gallery image version", gallery.resource_group, version, ref, version_field, version_location
            )
        temporaries = capture.snapshots
        if capture.preserve_source and isinstance(source, SourceVM) and temporaries is not None:
            # The preserved source's temporaries: snapshots <capture>-src-*, VM <capture>-tmp.
            if snapshots is not None:
                yield Claim(
                    "snapshots",
                    snapshots.resource_group,
                    f"{capture.name}-src-os",
                    ref,
                    field,
                    location,
                    "and -src-data<lun>, of preserveSource",
                )
            note = "the temporary VM of preserveSource"
            yield Claim("VM", temporaries.resource_group, f"{capture.name}-tmp", ref, field, location, note)

    def _deployment(self, ref: str, deployment: Deployment) -> Iterator[Claim]:
        path: PathKey = ("spec", "namePattern")
        field, location = self._where(ref, path)
        try:
            pattern = parse_pattern(deployment.name_pattern)
        except PatternError as exc:
            self._error(ref, field, location, f"is not a name pattern: {exc}")
            return
        os_type = self._os_of_capture(deployment.image)
        if deployment.mode == "scaleSet":
            if self._check(ref, ("metadata", "name"), deployment.name, scale_set_rule(os_type)):
                name_field, name_location = self._where(ref, ("metadata", "name"))
                yield Claim(
                    "scale set", deployment.resource_group, deployment.name, ref, name_field, name_location
                )
            return
        last = pattern.format(deployment.count - 1)
        first = pattern.format(0)
        # Only digits vary, so the first and the longest (last) name stand for all.
        if not all(self._check(ref, path, name, vm_rule(os_type)) for name in dict.fromkeys((first, last))):
            return
        for index in range(deployment.count):
            yield Claim("VM", deployment.resource_group, pattern.format(index), ref, field, location)


def _field(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def check_names(documents: dict[str, AnyDocument], raws: dict[str, RawDocument]) -> list[Diagnostic]:
    return NameCheck(documents, raws).run()
