"""The JSON Schema of the spec language, and its errors as located diagnostics.

The schema (``imagepipe/schemas/imagepipe-v1.schema.json``) is the one
validator of shape. Its subschemas may carry two annotations editors ignore:
``x-message`` (what to tell the user instead of jsonschema's wording) and
``x-secret`` (never echo the offending value).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match, relevance
from referencing import Registry, Resource

from imagepipe.errors import Diagnostic, error
from imagepipe.spec.suggest import did_you_mean, printable
from imagepipe.spec.yamlload import PathKey, RawDocument

SCHEMA_FILE = "imagepipe-v1.schema.json"
_X_MESSAGE_VALIDATORS = {
    "type",
    "pattern",
    "not",
    "oneOf",
    "anyOf",
    "const",
    "minProperties",
    "maxProperties",
    "minLength",
}
_TYPO = re.compile(r"^(?P<where>\S+): unknown field '[^']*' \(did you mean '(?P<name>[^']*)'\?\)$")
_MISSING = re.compile(r"^(?P<where>\S+): missing required field '(?P<name>[^']*)'$")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}


@cache
def schema() -> dict[str, Any]:
    """The spec language's schema, read from the installed package."""
    text = resources.files("imagepipe").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def validator() -> Draft202012Validator:
    document = schema()
    registry: Registry = Registry().with_resource(document["$id"], Resource.from_contents(document))
    return Draft202012Validator(document, registry=registry)


def schema_id() -> str:
    return schema()["$id"]


def check_document(doc: RawDocument) -> list[Diagnostic]:
    """Every schema error of one document, most relevant first."""
    errors = sorted(validator().iter_errors(doc.data), key=relevance)
    out: list[Diagnostic] = []
    seen: set[tuple[str, object]] = set()
    for err in errors:
        for diagnostic in _diagnostics(err, doc):
            key = (diagnostic.message, diagnostic.location)
            if key not in seen:
                seen.add(key)
                out.append(diagnostic)
    return _without_typo_echoes(out)


def _without_typo_echoes(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Drop "missing field 'x'" where the same mapping has a typo that suggests 'x'."""
    suggested = set()
    for d in diagnostics:
        match = _TYPO.search(d.message)
        if match:
            suggested.add((match["where"], match["name"]))
    return [
        d
        for d in diagnostics
        if not ((m := _MISSING.search(d.message)) and (m["where"], m["name"]) in suggested)
    ]


def field_name(path: PathKey) -> str:
    """``spec.create.dataDisks[0].sizeGB`` for a path of keys and indexes."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{printable(part)}" if out else printable(part))
    return out or "document"


def _type_name(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """A short rendering of a scalar the user wrote (never used for secrets)."""
    if isinstance(value, str):
        return f"'{printable(value)}'"
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return f"a {_type_name(value)}"


def _is_secret(err: ValidationError) -> bool:
    if isinstance(err.schema, dict) and err.schema.get("x-secret"):
        return True
    return any(part in ("adminPassword", "sshPublicKey") for part in err.absolute_path)


def _enum_values(schema: Any) -> list[str]:
    """The names an anyOf/oneOf/enum accepts, for "did you mean"."""
    if not isinstance(schema, dict):
        return []
    values = [v for v in schema.get("enum", []) if isinstance(v, str)]
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        values += _enum_values(branch)
    return values


def _diagnostics(err: ValidationError, doc: RawDocument) -> list[Diagnostic]:
    path: PathKey = tuple(err.absolute_path)
    where = field_name(path)
    schema_here = err.schema if isinstance(err.schema, dict) else {}
    validator_name = err.validator
    secret = _is_secret(err)

    if validator_name == "additionalProperties":
        known = sorted(schema_here.get("properties", {}))
        extras = [k for k in err.instance if k not in schema_here.get("properties", {})]
        return [
            error(
                f"{where}: unknown field '{printable(key)}'"
                + (did_you_mean(key, known) or (f" (expected one of: {', '.join(known)})" if known else "")),
                doc.key_where((*path, key)),
            )
            for key in extras
        ]
    if validator_name == "required":
        missing = [k for k in err.validator_value if isinstance(err.instance, dict) and k not in err.instance]
        return [error(f"{where}: missing required field '{key}'", doc.key_where(path)) for key in missing]

    location = doc.where(path)
    if (
        validator_name == "not"
        and isinstance(err.validator_value, dict)
        and err.validator_value.get("required")
    ):
        location = doc.key_where((*path, err.validator_value["required"][0]))
    x_message = schema_here.get("x-message")
    if x_message and validator_name in _X_MESSAGE_VALIDATORS:
        message = f"{where}: {x_message}"
        if secret:
            return [error(message, location)]
        if validator_name != "type" and isinstance(err.instance, str | int | float):
            message += f"; got {_shown(err.instance)}"
            message += did_you_mean(str(err.instance), _enum_values(schema_here))
        return [error(message, location)]
    if validator_name in ("oneOf", "anyOf") and err.context:
        inner = best_match(err.context)
        return _diagnostics(inner, doc)
    if secret:
        return [error(f"{where}: must be a secret reference, {{env: VAR}} or {{file: PATH}}", location)]
    return [error(f"{where}: {_describe(err, path)}", location)]


def _describe(err: ValidationError, path: PathKey) -> str:
    value = err.instance
    expected = err.validator_value
    match err.validator:
        case "type":
            kinds = expected if isinstance(expected, list) else [expected]
            names = " or ".join(
                "mapping" if k == "object" else ("list" if k == "array" else k) for k in kinds
            )
            got = _type_name(value)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                got += f" {_shown(value)}"
            return f"expected {names}, got {got}"
        case "enum":
            choices = [str(c) for c in expected]
            unique = list(dict.fromkeys(choices))
            if path == ("kind",):
                return f"unknown kind {_shown(value)}" + (
                    did_you_mean(str(value), unique) or f" (expected one of: {', '.join(unique)})"
                )
            return f"expected one of {', '.join(unique)}; got {_shown(value)}" + did_you_mean(
                str(value), unique
            )
        case "const":
            if path == ("apiVersion",):
                return f"unknown apiVersion {_shown(value)} (expected {expected})"
            return f"expected {expected}; got {_shown(value)}"
        case "minimum":
            return f"must be at least {expected}; got {_shown(value)}"
        case "maximum":
            return f"must be at most {expected}; got {_shown(value)}"
        case "minItems":
            return f"must have at least {expected} item{'s' if expected != 1 else ''}"
        case "maxItems":
            return f"must have at most {expected} items"
        case "minLength":
            return "must not be empty" if expected == 1 else f"must be at least {expected} characters long"
        case "maxLength":
            return f"must be at most {expected} characters long"
        case "pattern":
            return f"{_shown(value)} does not match {expected}"
    return f"does not satisfy {err.validator} {json.dumps(expected)[:60]}"
