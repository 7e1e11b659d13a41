"""Resource ids in request bodies, written without their leading '/', made absolute.

ARM resolves `subscriptions/{id}/resourceGroups/...` the same as the absolute form;
Microsoft's own examples send it (Image_CreateFromASnapshot,
Snapshot_Create_FromAnExistingSnapshot*), so rules only ever see absolute ids.
"""

from __future__ import annotations

from typing import Any

_PREFIX = "subscriptions/"


def absolute_ids(value: Any) -> Any:
    """`value` with every string that is a relative ARM id given its leading '/'."""
    if isinstance(value, dict):
        return {key: absolute_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [absolute_ids(item) for item in value]
    if isinstance(value, str) and value[: len(_PREFIX)].lower() == _PREFIX and value.count("/") >= 3:
        return "/" + value
    return value
