"""`$top` and `$skiptoken` on ARM's lists: a page of at most $top items and a nextLink to the rest.

The skip token is opaque to clients (common-api-details.md: a nextLink is followed as
given); here it is the offset of the next page, so a page's items are in the store's order.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from imagepipe.emulator.context import Ctx
from imagepipe.emulator.errors import ArmError


def page(ctx: Ctx, items: list[dict]) -> dict:
    """The list answer for `items`: all of them, or the page `$top`/`$skiptoken` ask for."""
    top = _top(ctx.query.get("$top"))
    start = _offset(ctx.query.get("$skiptoken") or ctx.query.get("$skipToken"))
    if top is None:
        return {"value": items[start:]}
    end = start + top
    out: dict = {"value": items[start:end]}
    if end < len(items):
        query = {k: v for k, v in ctx.query.items() if k.lower() != "$skiptoken"}
        query["$skiptoken"] = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode().rstrip("=")
        out["nextLink"] = f"{ctx.base_url}{ctx.path}?{urlencode(query, safe='$')}"
    return out


def _top(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise ArmError(400, "InvalidTopParameter", f"The value '{text}' of the $top parameter is invalid.")
    return int(text)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        kind, _, number = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise ArmError(400, "InvalidSkipToken", "The $skiptoken parameter is invalid.")
