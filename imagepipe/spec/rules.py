"""Cross-document checks and the domain rules of DESIGN.md section 2.

Runs on the typed model of the documents that passed the schema, with their
raw documents for positions. Shape is never re-checked here: the schema did it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from imagepipe.errors import Diagnostic, error, warning
from imagepipe.spec import security
from imagepipe.spec.images import is_capture_ref, marketplace_os, size_architecture
from imagepipe.spec.model import AnyDocument, Capture, Deployment, SourceVHD, SourceVM, Stack, Subnet
from imagepipe.spec.namecheck import check_names
from imagepipe.spec.secrets import SecretRef, credential_name, env_problem
from imagepipe.spec.suggest import closest
from imagepipe.spec.yamlload import PathKey, RawDocument

# Concurrent deployments one managed image, or one gallery replica, serves.
DEPLOYMENTS_PER_IMAGE = 20
# Where each kind refers to other documents, and the kinds it may refer to.
REFERENCES: dict[str, tuple[tuple[PathKey, tuple[str, ...]], ...]] = {
    "SourceVM": ((("spec", "create", "image"), ("Capture",)),),
    "Capture": ((("spec", "source"), ("SourceVM", "SourceVHD")),),
    "Deployment": ((("spec", "image"), ("Capture",)),),
}
_REFERENCE = re.compile(r"^[A-Za-z]+/[a-z][a-z0-9-]{0,39}$")


class Rules:
    def __init__(
        self,
        stack: Stack,
        documents: dict[str, AnyDocument],
        raws: dict[str, RawDocument],
        invalid_refs: set[str] | None = None,
        stack_invalid: bool = False,
        invalid_raws: list[RawDocument] | None = None,
    ):
        self.stack = stack
        self.documents = documents
        self.raws = raws
        # Documents that exist but failed the schema: references to them are not
        # reported again, and the checks that need them are skipped.
        self.invalid_refs = invalid_refs or set()
        self.stack_invalid = stack_invalid
        self.invalid_raws = invalid_raws or []
        self.out: list[Diagnostic] = []

    def run(self) -> list[Diagnostic]:
        for ref, doc in self.documents.items():
            match doc:
                case SourceVM():
                    self._source_vm(doc, self.raws[ref])
                case SourceVHD():
                    self._region(doc.location_name, self.raws[ref])
                case Capture():
                    self._capture(doc, self.raws[ref])
                case Deployment():
                    self._deployment(doc, self.raws[ref])
        self._networks()
        self._in_place_captures()
        self._environment_variables()
        self.out.extend(check_names(self.documents, self.raws))
        for raw in self.invalid_raws:
            self._references_of_invalid(raw)
        return self.out

    def _references_of_invalid(self, raw: RawDocument) -> None:
        """A document that failed the schema still gets its well-formed references checked."""
        kind = raw.data.get("kind") if isinstance(raw.data, dict) else None
        for path, kinds in REFERENCES.get(str(kind), ()):
            value = raw.get(path)
            if isinstance(value, str) and _REFERENCE.match(value):
                self._resolve(raw, path, kinds)

    # -- helpers ---------------------------------------------------------------------------

    def _error(self, raw: RawDocument, path: PathKey, message: str, key: bool = False) -> None:
        where = raw.key_where(path) if key else raw.where(path)
        self.out.append(error(f"{_field(path)}: {message}", where, _ref(raw)))

    def _warning(self, raw: RawDocument, path: PathKey, message: str) -> None:
        self.out.append(warning(f"{_field(path)}: {message}", raw.where(path), _ref(raw)))

    def _resolve(self, raw: RawDocument, path: PathKey, kinds: tuple[str, ...]) -> AnyDocument | None:
        """The document a reference names, or None after reporting why not."""
        ref = str(raw.get(path))
        target = self.documents.get(ref)
        kind = ref.split("/", 1)[0]
        wanted = " or ".join(kinds)
        if target is not None and kind in kinds:
            return target
        if ref in self.invalid_refs and kind in kinds:
            return None
        known_kind = target is not None or kind in ("Stack", "SourceVM", "SourceVHD", "Capture", "Deployment")
        if known_kind and kind not in kinds:
            self._error(raw, path, f"must reference a {wanted}, not {ref}")
            return None
        candidates = [r for r in [*self.documents, *self.invalid_refs] if r.split("/", 1)[0] in kinds]
        suggestion = closest(ref, candidates)
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        if kind not in kinds and not suggestion:
            hint = f" (expected a {wanted} reference)"
        self._error(raw, path, f"unknown reference {ref}{hint}")
        return None

    def _region(self, region: str, raw: RawDocument) -> bool:
        if region or self.stack_invalid:
            return bool(region)
        self._error(
            raw, ("spec",), "no location: set spec.location, or a default location in the Stack", key=True
        )
        return False

    def _credentials(
        self, raw: RawDocument, path: PathKey, os_type: str, has_key: bool, has_password: bool, what: str
    ) -> None:
        if os_type == "Windows" and not has_password:
            self._error(
                raw,
                path,
                f"{what} runs Windows and needs adminPassword ({{env: VAR}} or {{file: PATH}})",
                key=True,
            )
        elif os_type == "Linux" and not (has_key or has_password):
            self._error(
                raw,
                path,
                f"{what} runs Linux and needs sshPublicKey or adminPassword ({{env: VAR}} or {{file: PATH}})",
                key=True,
            )

    def _source_os(self, capture: Capture) -> str | None:
        source = self.documents.get(capture.source)
        return getattr(source, "os_type", None)

    # -- kinds -----------------------------------------------------------------------------

    def _source_vm(self, vm: SourceVM, raw: RawDocument) -> None:
        self._region(vm.location_name, raw)
        create = vm.create
        if create is not None and vm.security_type:
            self._error(
                raw,
                ("spec", "securityType"),
                "declares an existing VM's security type; for a VM imagepipe creates, set create.securityType",
            )
        if create is None:
            return
        image_path = ("spec", "create", "image")
        if is_capture_ref(create.image):
            self._resolve(raw, image_path, ("Capture",))
        image_os = marketplace_os(create.image) if not is_capture_ref(create.image) else None
        if image_os and raw.has(("spec", "osType")) and image_os != vm.os_type:
            self._error(raw, ("spec", "osType"), f"is {vm.os_type}, but {create.image} is a {image_os} image")
        self._size_fits(
            raw,
            ("spec", "create"),
            create.size,
            security.image_architecture(self.documents, create.image),
            create.image,
        )
        allowed = security.image_allows(self.documents, create.image)
        if create.security_type and allowed is not None and create.security_type not in allowed:
            self._error(
                raw,
                ("spec", "create", "securityType"),
                f"is {create.security_type}, but {create.image} {_boots(allowed)}: "
                + (
                    "use a Gen2 image (for example Ubuntu2204) or remove securityType"
                    if create.security_type == security.TRUSTED_LAUNCH
                    else "remove securityType or set TrustedLaunch"
                ),
            )
        self._credentials(
            raw,
            ("spec", "create"),
            vm.os_type,
            create.ssh_public_key is not None,
            create.admin_password is not None,
            f"SourceVM/{vm.name}",
        )

    def _capture(self, capture: Capture, raw: RawDocument) -> None:
        source = self._resolve(raw, ("spec", "source"), ("SourceVM", "SourceVHD"))
        generalized = capture.type == "generalized"
        if generalized and not capture.preserve_source and raw.has(("spec", "quiesce")):
            self._warning(
                raw,
                ("spec", "quiesce"),
                "applies to specialized captures and preserveSource: true only; ignored",
            )
        if not generalized and raw.has(("spec", "preserveSource")):
            self._warning(
                raw,
                ("spec", "preserveSource"),
                "applies to generalized captures only; ignored (snapshots never change the source)",
            )
        if isinstance(source, SourceVHD):
            if generalized and source.os_state == "Specialized":
                path = ("spec", "type") if raw.has(("spec", "type")) else ("spec", "source")
                self._error(
                    raw,
                    path,
                    f"a generalized capture needs a generalized VHD, but {source.ref} has osState Specialized (use type: specialized)",
                )
        elif isinstance(source, SourceVM) and generalized and not capture.preserve_source and source.existing:
            self._error(
                raw,
                ("spec", "preserveSource"),
                f"false would generalize {source.ref} in place, but it is existing: true and imagepipe never changes it; use preserveSource: true",
            )
        if isinstance(source, SourceVM) and generalized:
            self._managed_image_security(capture, source, raw)
        if capture.gallery is not None:
            seen: set[str] = set()
            for i, region in enumerate(capture.gallery.target_regions):
                if region.name in seen:
                    self._error(
                        raw,
                        ("spec", "gallery", "targetRegions", i, "name"),
                        f"region {region.name} is listed twice",
                    )
                seen.add(region.name)

    def _size_fits(self, raw: RawDocument, base: PathKey, size: str, architecture: str, image: str) -> None:
        """Azure boots an Arm64 image only on an Arm64 size, and an x64 one only on an x64 size."""
        if size_architecture(size) == architecture:
            return
        path = (*base, "size") if raw.has((*base, "size")) else (*base, "image")
        example = "Standard_D2ps_v5" if architecture == "Arm64" else "Standard_D2s_v5"
        self._error(
            raw,
            path,
            f"size {size} is an {size_architecture(size)} size, but {image} is an {architecture} image: "
            f"choose an {architecture} size such as {example}",
        )

    def _managed_image_security(self, capture: Capture, source: SourceVM, raw: RawDocument) -> None:
        """Azure refuses a managed image of a Trusted Launch VM (OperationNotAllowed), or of an Arm64 one."""
        if capture.image is None:
            return
        if security.source_architecture(self.documents, source) == "Arm64":
            path = ("spec", "image") if raw.has(("spec", "image")) else ("spec", "source")
            fix = "add a gallery" if capture.gallery is None else "remove image:"
            self._error(
                raw,
                path,
                f"Capture {capture.name} makes a managed image of {source.ref}, an Arm64 VM; managed images "
                f"cannot hold Arm64 VMs: {fix} (the gallery version is captured from the VM itself)",
            )
            return
        if security.source_type(self.documents, source) != security.TRUSTED_LAUNCH:
            return
        why = security.why_default(self.documents, source)
        if capture.gallery is None:
            path = ("spec", "image") if raw.has(("spec", "image")) else ("spec", "source")
            fix = f"add a gallery, or set securityType: Standard on {source.ref}"
        else:
            path = ("spec", "image")
            fix = "remove image: (the gallery version is captured from the VM itself)"
        self._error(
            raw,
            path,
            f"Capture {capture.name} makes a managed image of {source.ref}, which will be a Trusted Launch VM "
            f"({why}); managed images cannot hold Trusted Launch VMs: {fix}",
        )

    def _deployment_security(self, deployment: Deployment, capture: Capture, raw: RawDocument) -> None:
        wanted = deployment.security_type
        allowed = security.capture_allows(self.documents, capture)
        if not wanted or allowed is None or wanted in allowed:
            return
        if allowed == {security.TRUSTED_LAUNCH}:
            why = (
                "keeps its source's Trusted Launch type"
                if capture.type == "specialized"
                else "publishes its Trusted Launch source to a gallery image definition that only supports "
                "creation of VMs with 'TrustedLaunch' security type"
            )
            fix = "remove securityType or set TrustedLaunch"
        else:
            why = (
                f"keeps its source's {next(iter(allowed))} type"
                if capture.type == "specialized"
                else f"makes a Gen1 image, which {_boots(allowed)}"
            )
            fix = "remove securityType or set Standard"
        self._error(raw, ("spec", "securityType"), f"is {wanted}, but {capture.ref} {why}: {fix}")

    def _health_probe(self, deployment: Deployment, raw: RawDocument) -> None:
        """rollout.healthProbe: a scale set's only; requestPath exactly with http and https."""
        where = ("spec", "rollout", "healthProbe")
        if not raw.has(where):
            return
        if deployment.mode != "scaleSet":
            self._warning(
                raw,
                where,
                "applies to mode: scaleSet only (the Application Health extension of its instances); "
                "mode: vms judges VMs by healthCheck, ignored",
            )
            return
        probe = deployment.rollout.health_probe
        if probe.protocol == "tcp" and probe.request_path is not None:
            self._error(raw, (*where, "requestPath"), "is not allowed with protocol tcp: use http or https")
        if probe.protocol != "tcp" and probe.request_path is None:
            self._error(
                raw,
                where,
                f"requestPath is required with protocol {probe.protocol}, e.g. requestPath: /health",
            )

    def _deployment(self, deployment: Deployment, raw: RawDocument) -> None:
        has_region = self._region(deployment.location_name, raw)
        if deployment.mode == "scaleSet" and raw.has(("spec", "rollout", "healthCheck")):
            self._warning(
                raw,
                ("spec", "rollout", "healthCheck"),
                "applies to mode: vms only; a scale set's rolling upgrade judges its instances by the scale "
                "set's Application Health extension (rollout.healthProbe), ignored",
            )
        self._health_probe(deployment, raw)
        capture = self._resolve(raw, ("spec", "image"), ("Capture",))
        if not isinstance(capture, Capture):
            return
        self._deployment_security(deployment, capture, raw)
        self._size_fits(
            raw,
            ("spec",),
            deployment.size,
            security.image_architecture(self.documents, capture.ref),
            capture.ref,
        )
        if capture.type == "specialized":
            self._from_specialized(deployment, capture, raw, has_region)
            return
        if deployment.allow_duplicate_identity:
            self._warning(
                raw,
                ("spec", "allowDuplicateIdentity"),
                f"applies to specialized captures only; {capture.ref} is generalized, ignored",
            )
        os_type = self._source_os(capture)
        if os_type:
            self._credentials(
                raw,
                ("spec",),
                os_type,
                deployment.ssh_public_key is not None,
                deployment.admin_password is not None,
                f"{deployment.ref} (from {capture.ref})",
            )
        if not has_region:
            return
        region_path = ("spec", "location") if raw.has(("spec", "location")) else ("spec", "image")
        if capture.gallery is None:
            source_region = getattr(self.documents.get(capture.source), "location_name", "")
            if source_region and deployment.location_name != source_region:
                self._error(
                    raw,
                    region_path,
                    f"{capture.ref} makes a managed image in {source_region}, and a managed image deploys only in its own region; "
                    f"to deploy in {deployment.location_name}, add a gallery to {capture.ref} with a replica in {deployment.location_name}",
                )
            elif deployment.count > DEPLOYMENTS_PER_IMAGE:
                self._warning(
                    raw,
                    ("spec", "count"),
                    f"{deployment.count} VMs from one managed image exceed the {DEPLOYMENTS_PER_IMAGE} concurrent deployments it serves, "
                    f"so the fan-out is paced; add a gallery to {capture.ref} with "
                    f"{math.ceil(deployment.count / DEPLOYMENTS_PER_IMAGE)} replicas in {deployment.location_name}",
                )
            return
        replicas = {r.name: r.replicas for r in capture.gallery.target_regions}
        if deployment.location_name not in replicas:
            self._error(
                raw,
                region_path,
                f"{capture.ref}'s gallery version is replicated to {', '.join(replicas)}, not {deployment.location_name}; "
                f"add {deployment.location_name} to its gallery.targetRegions",
            )
            return
        have = replicas[deployment.location_name]
        per_replica = capture.gallery.vms_per_replica
        if deployment.count > per_replica * have:
            needed = math.ceil(deployment.count / per_replica)
            self._warning(
                raw,
                ("spec", "count"),
                f"{deployment.count} VMs exceed the {per_replica * have} concurrent deployments of {have} "
                f"replica{'s' if have != 1 else ''} of {capture.ref} in {deployment.location_name} "
                f"({per_replica} per replica), so the fan-out is paced; "
                f"raise replicas in {deployment.location_name} to {needed}",
            )

    def _from_specialized(
        self, deployment: Deployment, capture: Capture, raw: RawDocument, has_region: bool
    ) -> None:
        if deployment.count > 1 and not deployment.allow_duplicate_identity:
            self._error(
                raw,
                ("spec", "count"),
                f"{deployment.count} VMs from the specialized {capture.ref} would all share the source's identity; "
                "set allowDuplicateIdentity: true if that is intended",
            )
        if deployment.mode == "scaleSet":
            self._error(
                raw,
                ("spec", "mode"),
                f"a scale set needs a generalized capture; {capture.ref} is specialized",
            )
        source_region = getattr(self.documents.get(capture.source), "location_name", "")
        if has_region and source_region and deployment.location_name != source_region:
            path = ("spec", "location") if raw.has(("spec", "location")) else ("spec", "image")
            if capture.quiesce == "restorePoint" and isinstance(self.documents.get(capture.source), SourceVM):
                # Azure copies a restore point to another region through a collection whose source
                # is the first one; imagepipe does not make that copy.
                what = f"the restore point of {capture.ref} (quiesce: restorePoint) is"
                fix = "a restore point is not copied across regions"
            else:
                what, fix = f"the snapshots of {capture.ref} are", ""
            self._error(
                raw,
                path,
                f"{what} in {source_region}; a specialized capture restores only in its own region"
                + (f" ({fix})" if fix else ""),
            )

    def _environment_variables(self) -> None:
        """{env:} references follow the rule of secrets.env_problem; the Stack's list too."""
        allowed = self.stack.secret_env
        for ref, doc in self.documents.items():
            holder: object = doc.create if isinstance(doc, SourceVM) and doc.create is not None else doc
            prefix = "spec.create" if holder is not doc else "spec"
            for attribute, field_name in (
                ("ssh_public_key", "sshPublicKey"),
                ("admin_password", "adminPassword"),
            ):
                secret = getattr(holder, attribute, None)
                if not isinstance(secret, SecretRef) or secret.kind != "env":
                    continue
                problem = env_problem(secret.name, allowed)
                if problem:
                    self.out.append(error(f"{prefix}.{field_name}.env: {problem}", secret.origin, ref))
        for i, name in enumerate(allowed or ()):
            if credential_name(name):
                where = self.stack.secret_env_locations[i]
                self.out.append(
                    error(f"spec.secretEnv[{i}]: {env_problem(name, None)}", where, self.stack.ref)
                )

    def _in_place_captures(self) -> None:
        """A capture that generalizes its source in place must be the source's only capture.

        After it, the source VM is generalized and can never start again, so any
        other capture of it (before or after) would fail on every apply.
        """
        by_source: dict[str, list[Capture]] = {}
        for doc in self.documents.values():
            if isinstance(doc, Capture):
                by_source.setdefault(doc.source, []).append(doc)
        for source_ref, captures in by_source.items():
            source = self.documents.get(source_ref)
            if not isinstance(source, SourceVM) or source.existing or len(captures) < 2:
                continue
            in_place = [c for c in captures if c.type == "generalized" and not c.preserve_source]
            if not in_place:
                continue
            first = in_place[0]
            first_raw = self.raws[first.ref]
            where_first = first_raw.where(("spec", "preserveSource"))
            others = [c for c in captures if c is not first]
            self._error(
                first_raw,
                ("spec", "preserveSource"),
                f"false generalizes {source_ref} in place, so it can be its only capture, but "
                + ", ".join(f"{c.ref} ({self.raws[c.ref].where(('spec', 'source'))})" for c in others)
                + " also captures it; use preserveSource: true",
            )
            for other in others:
                self._error(
                    self.raws[other.ref],
                    ("spec", "source"),
                    f"{source_ref} is generalized in place by {first.ref} ({where_first}), and a generalized VM "
                    f"never starts again; set preserveSource: true on {first.ref}",
                )

    def _networks(self) -> None:
        """Documents that share a virtual network must agree on its region and subnets."""
        vnet_region: dict[tuple[str, str], tuple[str, RawDocument]] = {}
        prefixes: dict[tuple[str, str, str], str] = {}
        for ref, subnet, path, resource_group, region in self._subnets():
            raw = self.raws[ref]
            key = (resource_group, subnet.vnet)
            if region:
                first = vnet_region.setdefault(key, (region, raw))
                if first[0] != region:
                    self._error(
                        raw,
                        (*path, "vnet"),
                        f"virtual network {resource_group}/{subnet.vnet} is in {first[0]} ({_ref(first[1])}), not {region}; use another vnet name",
                    )
            prefix = prefixes.setdefault((*key, subnet.name), subnet.address_prefix)
            if prefix != subnet.address_prefix:
                self._error(
                    raw,
                    (*path, "addressPrefix"),
                    f"subnet {subnet.vnet}/{subnet.name} is declared elsewhere with {prefix}, not {subnet.address_prefix}",
                )

    def _subnets(self) -> Iterator[tuple[str, Subnet, PathKey, str, str]]:
        for ref, doc in self.documents.items():
            if isinstance(doc, SourceVM) and doc.create is not None:
                yield (
                    ref,
                    doc.create.subnet,
                    ("spec", "create", "subnet"),
                    doc.resource_group,
                    doc.location_name,
                )
            elif isinstance(doc, Deployment) and doc.subnet is not None:
                yield ref, doc.subnet, ("spec", "subnet"), doc.resource_group, doc.location_name


def _boots(allowed: frozenset[str]) -> str:
    return f"boots only {' or '.join(sorted(allowed))} VMs"


def _field(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _ref(raw: RawDocument) -> str:
    return f"{raw.data['kind']}/{raw.get(('metadata', 'name'), '')}"


def check(
    stack: Stack,
    documents: dict[str, AnyDocument],
    raws: dict[str, RawDocument],
    invalid_refs: set[str] | None = None,
    stack_invalid: bool = False,
    invalid_raws: list[RawDocument] | None = None,
) -> list[Diagnostic]:
    return Rules(stack, documents, raws, invalid_refs, stack_invalid, invalid_raws).run()
