"""What the emulator accepts from a client before any rule runs: body sizes, JSON shape and tags,
bounded as Azure bounds them (ARM's 4 MiB request limit, its tag rules)."""

from __future__ import annotations

import json

from starlette.requests import Request

from imagepipe.emulator.errors import ArmError

ARM_BODY_LIMIT = 4 * 1024 * 1024
TOKEN_BODY_LIMIT = 8 * 1024  # a client-credentials form is a few hundred bytes
MAX_JSON_DEPTH = 64
MAX_TAGS = 50
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` bytes (a larger one is 413, whatever Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ArmError:
    return ArmError(
        413,
        "RequestEntityTooLarge",
        f"The request content is larger than the limit of {limit} bytes.",
    )


def parse_json(raw: bytes) -> object:
    """The body as JSON (None when empty); malformed or too deeply nested JSON is 400."""
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad_json("The request content was not valid JSON.") from None
    if _depth(body) > MAX_JSON_DEPTH:
        raise _bad_json(f"The request content is nested deeper than {MAX_JSON_DEPTH} levels.")
    return body


def _bad_json(message: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent", message)


def _depth(value: object) -> int:
    """Nesting depth, without recursion (the value may be as deep as the parser allowed)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


def check_tags(body: object) -> None:
    """Azure's tag rules for a resource write: at most 50, names up to 512 and values up to 256
    characters, every value a string."""
    if not isinstance(body, dict) or body.get("tags") is None:
        return
    tags = body["tags"]
    if not isinstance(tags, dict):
        raise _invalid_tag("The 'tags' property must be an object of string names and values.")
    if len(tags) > MAX_TAGS:
        raise _invalid_tag(f"The resource has {len(tags)} tags; at most {MAX_TAGS} are allowed.")
    for name, value in tags.items():
        shown = name[:40]
        if not name or len(name) > MAX_TAG_NAME:
            raise _invalid_tag(f"The tag name '{shown}' must be 1 to {MAX_TAG_NAME} characters long.")
        if not isinstance(value, str):
            raise _invalid_tag(f"The value of tag '{shown}' must be a string.")
        if len(value) > MAX_TAG_VALUE:
            raise _invalid_tag(f"The value of tag '{shown}' exceeds the maximum length of {MAX_TAG_VALUE}.")


def _invalid_tag(message: str) -> ArmError:
    return ArmError(400, "InvalidTag", message, "tags")
