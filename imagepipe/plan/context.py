"""What every step handler needs: the specs, the graph, the stack, resource ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagepipe.azure import records as r
from imagepipe.plan.model import digest
from imagepipe.spec.model import AnyDocument, SpecSet

TAG_STACK = "imagepipe-stack"
TAG_SPEC = "imagepipe-spec"
TAG_HASH = "imagepipe-hash"
TAG_CUSTOMIZED = "imagepipe-customized"
TAG_QUIESCED = "imagepipe-quiesced"  # on a source VM between quiesce and restore: its power state before
# Tags imagepipe manages itself; they are compared through the hash, not one by one.
SYSTEM_TAGS = frozenset({TAG_STACK, TAG_SPEC, TAG_HASH, TAG_CUSTOMIZED, TAG_QUIESCED})


@dataclass
class Context:
    specset: SpecSet
    graph: Any  # imagepipe.graph.StepGraph
    subscription_id: str

    @property
    def stack(self) -> str:
        return self.specset.name

    def document(self, ref: str) -> AnyDocument:
        return self.specset.get(ref)

    # ---- ids (formulaic, so planning needs no request) --------------------------------
    def resource_id(self, type_: str, rg: str, name: str) -> str:
        if type_ == r.RESOURCE_GROUP:
            return f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}"
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}/providers/{type_}/{name}"

    def subnet_id(self, rg: str, vnet: str, subnet: str) -> str:
        return self.resource_id(r.VNET, rg, vnet) + f"/subnets/{subnet}"

    # ---- ownership -------------------------------------------------------------------
    def owns(self, observed: r.Record | None) -> bool:
        return bool(observed) and observed["tags"].get(TAG_STACK) == self.stack

    def tags(
        self, address: str, hashed: dict[str, Any], extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The tags of a resource imagepipe creates: the stack's, the document's, and its own."""
        tags = dict(self.specset.stack.tags)
        tags.update(extra or {})
        tags[TAG_STACK] = self.stack
        tags[TAG_SPEC] = address
        tags[TAG_HASH] = digest(hashed)
        return tags


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
