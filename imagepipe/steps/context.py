"""What every step handler needs: the specs (typed), the graph, the stack, resource ids, and the
operations this run submitted."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagepipe import vocabulary as r
from imagepipe.errors import ImagepipeError
from imagepipe.graph.stepgraph import StepGraph
from imagepipe.spec.model import AnyDocument, Capture, Deployment, SourceVHD, SourceVM, SpecSet
from imagepipe.steps.change import digest
from imagepipe.steps.port import Operation

TAG_STACK = "imagepipe-stack"
# The stack's identity (spec/identity.py): two stacks of one name never own each other's resources.
TAG_STACK_ID = "imagepipe-stack-id"
TAG_SPEC = "imagepipe-spec"
TAG_HASH = "imagepipe-hash"
TAG_CUSTOMIZED = "imagepipe-customized"
TAG_QUIESCED = "imagepipe-quiesced"  # on a source VM between quiesce and restore: its power state before
# On a VM of a rollout whose health check failed ("failed"): the next apply checks it again
# before it replaces any more VMs, and removes the tag once it passes.
TAG_HEALTH = "imagepipe-health"
UNHEALTHY = "failed"
# Tags imagepipe manages itself; they are compared through the hash, not one by one.
SYSTEM_TAGS = frozenset(
    {TAG_STACK, TAG_STACK_ID, TAG_SPEC, TAG_HASH, TAG_CUSTOMIZED, TAG_QUIESCED, TAG_HEALTH}
)


D = TypeVar("D", SourceVM, SourceVHD, Capture, Deployment)


class WrongDocument(ImagepipeError):
    """A step asked for a document of another kind than the reference names (a graph bug)."""


class SubmittedOperations:
    """The create operations this run submitted, by resource id: a gallery version's poller
    carries Azure's error when the version ends Failed (its GET does not)."""

    def __init__(self) -> None:
        self._operations: dict[str, Operation] = {}
        self._lock = threading.Lock()

    def remember(self, resource_id: str, operation: Operation) -> None:
        with self._lock:
            self._operations[resource_id.lower()] = operation

    def raise_error(self, resource_id: str) -> None:
        """Raise Azure's own error of a Failed operation this run submitted (AzureOperationError)."""
        with self._lock:
            operation = self._operations.get(resource_id.lower())
        if operation is not None:
            operation.wait()  # it has ended Failed: this raises with Azure's code and message


@dataclass
class Context:
    specset: SpecSet
    graph: StepGraph | None  # None for a destroy: it needs no steps
    subscription_id: str
    submitted: SubmittedOperations = field(default_factory=SubmittedOperations, compare=False)

    @property
    def stack(self) -> str:
        return self.specset.name

    def document(self, ref: str) -> AnyDocument:
        return self.specset.get(ref)

    # ---- typed documents: what a step's handler works from --------------------------
    def _typed(self, ref: str, kind: type[D]) -> D:
        doc = self.specset.get(ref)
        if not isinstance(doc, kind):
            raise WrongDocument(f"{ref} is a {type(doc).__name__}, not a {kind.__name__}")
        return doc

    def source_vm(self, ref: str) -> SourceVM:
        return self._typed(ref, SourceVM)

    def capture(self, ref: str) -> Capture:
        return self._typed(ref, Capture)

    def deployment(self, ref: str) -> Deployment:
        return self._typed(ref, Deployment)

    def source(self, ref: str) -> SourceVM | SourceVHD:
        """A capture's source: a VM or uploaded VHDs."""
        doc = self.specset.get(ref)
        if not isinstance(doc, (SourceVM, SourceVHD)):
            raise WrongDocument(f"{ref} is a {type(doc).__name__}, not a source")
        return doc

    # ---- ids (formulaic, so planning needs no request) --------------------------------
    def resource_id(self, type_: str, rg: str, name: str) -> str:
        if type_ == r.RESOURCE_GROUP:
            return f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}"
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}/providers/{type_}/{name}"

    def subnet_id(self, rg: str, vnet: str, subnet: str) -> str:
        return self.resource_id(r.VNET, rg, vnet) + f"/subnets/{subnet}"

    # ---- ownership -------------------------------------------------------------------
    def owns(self, observed: r.Record | None, address: str | None = None) -> bool:
        """This stack's tag, and, when ``address`` is given, no other step's address in its
        ``imagepipe-spec`` tag (an ``address`` ending in ``/`` accepts every step under it).

        Names are unique across a spec set's documents, so another step's address on a wanted
        name means a resource made by hand or by an older spec: never adopted by this step."""
        if not observed or not owned_by(observed, self.stack, self.specset.identity):
            return False
        claimant = observed["tags"].get(TAG_SPEC)
        if address is None or not claimant:
            return True
        return claimant == address or (address.endswith("/") and claimant.startswith(address))

    def tags(
        self, address: str, hashed: dict[str, Any], extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The tags of a resource imagepipe creates: the stack's, the document's, and its own."""
        tags = dict(self.specset.stack.tags)
        tags.update(extra or {})
        tags[TAG_STACK] = self.stack
        tags[TAG_STACK_ID] = self.specset.identity
        tags[TAG_SPEC] = address
        tags[TAG_HASH] = digest(hashed)
        return tags


def owned_by(observed: r.Record, stack: str, identity: str) -> bool:
    """The stack's name and its identity, both: a name alone is shared by folders of one name."""
    tags = observed["tags"]
    return tags.get(TAG_STACK) == stack and tags.get(TAG_STACK_ID) == identity


def other_stack(observed: r.Record) -> str:
    """Whose a resource is, for a message: ``stack web (at repo:teamB/web)``, or untagged."""
    tags = observed["tags"]
    owner = tags.get(TAG_STACK)
    if not owner:
        return "no imagepipe stack (untagged)"
    identity = tags.get(TAG_STACK_ID)
    if not identity:
        return f"stack {owner} (made without a stack identity)"
    return f"stack {owner}" if identity == owner else f"stack {owner} (at {identity})"


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in SYSTEM_TAGS}


def desired_record(
    type_: str, rg: str, name: str, location: str, tags: dict[str, str], properties: dict[str, Any]
) -> r.Record:
    return {
        "type": type_,
        "resource_group": rg,
        "name": name,
        "location": location.replace(" ", "").lower(),
        "tags": tags,
        "properties": properties,
    }
