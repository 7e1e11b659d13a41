"""A small, honest ARM template evaluator: what the az CLI's `vm create` templates use, nothing more.

Supported: template parameters (with defaults, allowedValues, types), variables, the
functions `parameters`, `variables`, `concat`, `resourceId`, `copyIndex`, `resourceGroup`,
`subscription`, property access and indexing, resource `copy` loops (a count), `condition`,
`dependsOn` (resource ids, `type/name`, names and loop names) and outputs. Anything else
(nested resources, property loops, `reference`, `listKeys`, linked templates, ...) is
refused with `TemplateError`, which the deployment answers as ARM's `InvalidTemplate`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import networkx as nx

from imagepipe.emulator.types import RESOURCE_GROUP

SUPPORTED_FUNCTIONS = (
    "concat",
    "copyIndex",
    "parameters",
    "resourceGroup",
    "resourceId",
    "subscription",
    "variables",
)
_SECURE_TYPES = {"securestring", "secureobject"}
_TYPE_NAMES = {
    "string": "String",
    "securestring": "SecureString",
    "int": "Int",
    "bool": "Bool",
    "object": "Object",
    "secureobject": "SecureObject",
    "array": "Array",
}
_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "securestring": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "secureobject": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
# What a resource handler receives (the rest of a template resource is deployment metadata).
BODY_FIELDS = (
    "location",
    "tags",
    "properties",
    "sku",
    "kind",
    "zones",
    "identity",
    "plan",
    "extendedLocation",
)
_RESOURCE_FIELDS = {
    "type",
    "name",
    "apiVersion",
    *BODY_FIELDS,
    "dependsOn",
    "copy",
    "condition",
    "comments",
    "metadata",
}


class TemplateError(Exception):
    """The template uses something the emulator does not evaluate, or is invalid."""


@dataclass(frozen=True)
class Scope:
    """Where the template is deployed: what `resourceGroup()` and `subscription()` return."""

    subscription: str
    tenant: str
    group: str
    group_location: str

    @property
    def group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.group}"


@dataclass
class PlannedResource:
    """One resource instance of the template, fully evaluated."""

    index: int  # position in the deployment (template order, copies expanded)
    type: str
    name: str
    id: str
    api_version: str
    body: dict
    depends_on: list[str]  # ids of planned resources, resolved
    enabled: bool = True  # False when its `condition` is false: never deployed
    loop: str | None = None


@dataclass
class Plan:
    resources: list[PlannedResource]
    order: list[PlannedResource]  # dependencies first
    outputs: dict
    parameters: dict  # as a deployment shows them: secure values left out
    template_hash: str
    secure_values: list[str] = field(default_factory=list)


# -- expressions ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),.\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise TemplateError(
                f"The template language expression '{text}' is not valid: unexpected '{text[pos:]}'."
            )
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


@dataclass
class _Call:
    name: str
    args: list[object]


@dataclass
class _Access:
    target: object
    key: object  # a property name (str) or an index expression


@dataclass
class _Literal:
    value: object


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self) -> object:
        node = self._expression()
        if self.pos != len(self.tokens):
            self._fail("unexpected text after the expression")
        return node

    def _fail(self, why: str) -> None:
        raise TemplateError(f"The template language expression '{self.text}' is not valid: {why}.")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1] != value):
            self._fail(f"expected '{value}'" if value else "the expression ends too early")
        self.pos += 1
        return token  # type: ignore[return-value]

    def _expression(self) -> object:
        kind, value = self._take()
        node: object
        if kind == "string":
            node = _Literal(value[1:-1].replace("''", "'"))
        elif kind == "number":
            node = _Literal(int(value))
        elif kind == "name":
            self._take("(")
            args: list[object] = []
            if self._peek() != ("punct", ")"):
                args.append(self._expression())
                while self._peek() == ("punct", ","):
                    self._take(",")
                    args.append(self._expression())
            self._take(")")
            node = _Call(value, args)
        else:
            self._fail(f"unexpected '{value}'")
        while self._peek() in (("punct", "."), ("punct", "[")):
            if self._take()[1] == ".":
                kind, name = self._take()
                if kind != "name":
                    self._fail("a property name must follow '.'")
                node = _Access(node, _Literal(name))
            else:
                index = self._expression()
                self._take("]")
                node = _Access(node, index)
        return node


def is_expression(value: str) -> bool:
    return value.startswith("[") and value.endswith("]") and not value.startswith("[[")


class Evaluator:
    """Evaluates template values for one deployment (and one copy-loop index at a time)."""

    def __init__(self, template: dict, supplied: dict, scope: Scope) -> None:
        self.scope = scope
        self.copy_index: dict[str, int] = {}  # loop name -> index, while a copy is expanded
        self._variable_defs = template.get("variables") or {}
        if not isinstance(self._variable_defs, dict):
            raise TemplateError("The template 'variables' must be an object.")
        if "copy" in self._variable_defs:
            raise TemplateError("Variable copy loops are not supported by the emulator.")
        self._variables: dict[str, object] = {}
        self._resolving: set[str] = set()
        self._params: dict[str, object] = {}  # filled in declaration order: defaults may use earlier ones
        _bind_parameters(template.get("parameters") or {}, supplied, self._params, self.value)

    @property
    def parameters(self) -> dict[str, object]:
        return self._params

    def value(self, value: object) -> object:
        """A template value with every expression inside it evaluated."""
        if isinstance(value, str):
            if is_expression(value):
                return self._eval(_Parser(value[1:-1]).parse())
            return value[1:] if value.startswith("[[") else value
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            if "copy" in value and isinstance(value["copy"], list):
                raise TemplateError("Property copy loops are not supported by the emulator.")
            return {k: self.value(v) for k, v in value.items()}
        return value

    def _eval(self, node: object) -> object:
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Access):
            return _access(self._eval(node.target), self._eval(node.key))
        assert isinstance(node, _Call)
        function = _FUNCTIONS.get(node.name.lower())
        if function is None:
            raise TemplateError(
                f"The template function '{node.name}' is not supported by the emulator "
                f"(supported: {', '.join(SUPPORTED_FUNCTIONS)})."
            )
        return function(self, [self._eval(a) for a in node.args])

    def variable(self, name: str) -> object:
        key = next((k for k in self._variable_defs if k.lower() == name.lower()), None)
        if key is None:
            raise TemplateError(f"The template variable '{name}' is not found.")
        if key not in self._variables:
            if key in self._resolving:
                raise TemplateError(f"The template variable '{key}' refers to itself.")
            self._resolving.add(key)
            self._variables[key] = self.value(self._variable_defs[key])
            self._resolving.discard(key)
        return self._variables[key]

    def parameter(self, name: str) -> object:
        key = next((k for k in self._params if k.lower() == name.lower()), None)
        if key is None:
            raise TemplateError(f"The template parameter '{name}' is not found.")
        return self._params[key]


def _access(target: object, key: object) -> object:
    if isinstance(target, dict) and isinstance(key, str):
        for k, v in target.items():
            if k.lower() == key.lower():
                return v
        raise TemplateError(f"The language expression property '{key}' doesn't exist.")
    if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key < len(target):
            return target[key]
        raise TemplateError(f"The language expression index '{key}' is out of bounds.")
    raise TemplateError(f"The language expression cannot access '{key}' of a {type(target).__name__}.")


def _arity(name: str, args: list[object], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        raise TemplateError(f"The template function '{name}' has an invalid number of arguments.")


def _fn_parameters(ev: Evaluator, args: list[object]) -> object:
    _arity("parameters", args, 1, 1)
    return ev.parameter(str(args[0]))


def _fn_variables(ev: Evaluator, args: list[object]) -> object:
    _arity("variables", args, 1, 1)
    return ev.variable(str(args[0]))


def _fn_concat(ev: Evaluator, args: list[object]) -> object:
    if args and all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]  # type: ignore[union-attr]
    if any(isinstance(a, (list, dict)) for a in args):
        raise TemplateError(
            "The template function 'concat' expects only strings and numbers, or only arrays."
        )
    return "".join(str(a).lower() if isinstance(a, bool) else str(a) for a in args)


def _fn_copy_index(ev: Evaluator, args: list[object]) -> object:
    _arity("copyIndex", args, 0, 2)
    loop = next((a for a in args if isinstance(a, str)), None)
    offset = next((a for a in args if isinstance(a, int) and not isinstance(a, bool)), 0)
    if not ev.copy_index:
        raise TemplateError("The template function 'copyIndex' is not expected at this location.")
    if loop is None:
        return next(iter(ev.copy_index.values())) + offset
    for name, index in ev.copy_index.items():
        if name.lower() == loop.lower():
            return index + offset
    raise TemplateError(f"The template copy loop '{loop}' is not found.")


def _fn_resource_id(ev: Evaluator, args: list[object]) -> object:
    strings = [str(a) for a in args]
    type_at = next((i for i, a in enumerate(strings) if "/" in a), None)
    if type_at is None or type_at > 2:
        raise TemplateError(
            "The template function 'resourceId' needs a resource type such as 'Microsoft.Network/virtualNetworks'."
        )
    subscription, group = ev.scope.subscription, ev.scope.group
    if type_at == 2:
        subscription, group = strings[0], strings[1]
    elif type_at == 1:
        group = strings[0]
    return resource_id(subscription, group, strings[type_at], strings[type_at + 1 :])


def _fn_resource_group(ev: Evaluator, args: list[object]) -> object:
    _arity("resourceGroup", args, 0, 0)
    return {
        "id": ev.scope.group_id,
        "name": ev.scope.group,
        "type": RESOURCE_GROUP,
        "location": ev.scope.group_location,
        "properties": {"provisioningState": "Succeeded"},
    }


def _fn_subscription(ev: Evaluator, args: list[object]) -> object:
    _arity("subscription", args, 0, 0)
    return {
        "id": f"/subscriptions/{ev.scope.subscription}",
        "subscriptionId": ev.scope.subscription,
        "tenantId": ev.scope.tenant,
    }


_FUNCTIONS: dict[str, Callable[[Evaluator, list[object]], object]] = {
    "parameters": _fn_parameters,
    "variables": _fn_variables,
    "concat": _fn_concat,
    "copyindex": _fn_copy_index,
    "resourceid": _fn_resource_id,
    "resourcegroup": _fn_resource_group,
    "subscription": _fn_subscription,
}


def resource_id(subscription: str, group: str, type_name: str, names: list[str]) -> str:
    """`/subscriptions/s/resourceGroups/g/providers/NS/t1/n1[/t2/n2...]` from a type and its names."""
    segments = type_name.strip("/").split("/")
    if len(segments) < 2 or len(segments) - 1 != len(names) or not all(names):
        raise TemplateError(
            f"Unable to evaluate template language function 'resourceId': the type '{type_name}' "
            f"needs {max(len(segments) - 1, 1)} resource name segment(s)."
        )
    path = "/".join(f"{t}/{n}" for t, n in zip(segments[1:], names, strict=True))
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{segments[0]}/{path}"


# -- parameters ---------------------------------------------------------------------------------------


def _bind_parameters(
    declared: object, supplied: object, values: dict[str, object], evaluate: Callable[[object], object]
) -> None:
    """Check the supplied parameter values against the declarations and store them in `values`."""
    if not isinstance(declared, dict) or not isinstance(supplied, dict):
        raise TemplateError("The template 'parameters' must be an object.")
    lowered = {k.lower(): k for k in declared}
    for name, entry in supplied.items():
        if name.lower() not in lowered:
            raise TemplateError(
                f"The template parameters '{name}' in the parameters file are not valid; "
                "they are not present in the original template and can therefore not be provided at deployment time."
            )
        if not isinstance(entry, dict) or "value" not in entry:
            raise TemplateError(
                f"The value of deployment parameter '{name}' must be given as {{\"value\": ...}} "
                "(Key Vault references are not supported by the emulator)."
            )
    given = {k.lower(): v["value"] for k, v in supplied.items()}
    for name, spec in declared.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise TemplateError(f"The template parameter '{name}' must declare a 'type'.")
        kind = spec["type"].lower()
        if kind not in _TYPE_CHECKS:
            raise TemplateError(f"The template parameter '{name}' has an unknown type '{spec['type']}'.")
        if name.lower() in given:
            value = given[name.lower()]
        elif "defaultValue" in spec:
            value = evaluate(spec["defaultValue"])
        else:
            raise TemplateError(f"The value for the template parameter '{name}' is not provided.")
        if not _TYPE_CHECKS[kind](value):
            raise TemplateError(
                f"The provided value for the template parameter '{name}' is not valid: expected a value of type '{_TYPE_NAMES[kind]}'."
            )
        allowed = spec.get("allowedValues")
        if isinstance(allowed, list) and value not in allowed:
            # Never echo the value: it may be a secret.
            raise TemplateError(
                f"The provided value for the template parameter '{name}' is not valid: it is not one of the allowed values."
            )
        values[name] = value


def shown_parameters(declared: dict, values: dict[str, object]) -> dict:
    """Parameters as ARM shows them on a deployment: secure ones by type only."""
    out = {}
    for name, value in values.items():
        kind = str((declared.get(name) or {}).get("type", "string")).lower()
        entry: dict = {"type": _TYPE_NAMES.get(kind, "String")}
        if kind not in _SECURE_TYPES:
            entry["value"] = value
        out[name] = entry
    return out


# -- resources ----------------------------------------------------------------------------------------


def _expand(raw: dict, position: int, ev: Evaluator) -> Iterator[tuple[dict, str | None, bool]]:
    """Each instance of one template resource (copies expanded): evaluated resource, loop name, enabled."""
    loop = raw.get("copy")
    if loop is None:
        enabled = bool(ev.value(raw.get("condition", True)))
        yield _evaluated(raw, ev), None, enabled
        return
    if not isinstance(loop, dict) or not loop.get("name"):
        raise TemplateError(
            f"The copy of template resource {position} must be an object with a 'name' and a 'count'."
        )
    count = ev.value(loop.get("count"))
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 800:
        raise TemplateError(f"The copy count of loop '{loop['name']}' must be an integer from 0 to 800.")
    for index in range(count):
        ev.copy_index = {str(loop["name"]): index}
        try:
            enabled = bool(ev.value(raw.get("condition", True)))
            yield _evaluated(raw, ev), str(loop["name"]), enabled
        finally:
            ev.copy_index = {}


def _evaluated(raw: dict, ev: Evaluator) -> dict:
    return {k: ev.value(v) for k, v in raw.items() if k not in ("copy", "condition", "comments", "metadata")}


def _check_resource(raw: object, position: int) -> dict:
    if not isinstance(raw, dict):
        raise TemplateError(f"The template resource at position {position} must be an object.")
    for required in ("type", "name", "apiVersion"):
        if not raw.get(required):
            raise TemplateError(
                f"The template resource at position {position} must have a '{required}' property."
            )
    if "resources" in raw:
        raise TemplateError(
            f"Nested child resources (template resource '{raw['name']}') are not supported by the emulator; "
            "declare them at the top level."
        )
    unknown = sorted(set(raw) - _RESOURCE_FIELDS)
    if unknown:
        raise TemplateError(
            f"The template resource '{raw['name']}' uses {', '.join(repr(u) for u in unknown)}, "
            "which the emulator does not support."
        )
    return raw


def plan(template: object, supplied: object, scope: Scope) -> Plan:
    """Evaluate a template for `scope`: its resource instances in dependency order, outputs, parameters."""
    if not isinstance(template, dict):
        raise TemplateError("The template must be a JSON object.")
    if "languageVersion" in template or "functions" in template:
        raise TemplateError(
            "Template language version 2.0 and user-defined functions are not supported by the emulator."
        )
    raw_resources = template.get("resources")
    if not isinstance(raw_resources, list):
        raise TemplateError("The template 'resources' must be an array.")
    ev = Evaluator(template, supplied if supplied is not None else {}, scope)

    resources: list[PlannedResource] = []
    pending_depends: list[list[str]] = []
    for position, raw in enumerate(raw_resources):
        raw = _check_resource(raw, position)
        for evaluated, loop, enabled in _expand(raw, position, ev):
            type_name, name = str(evaluated["type"]), str(evaluated["name"])
            segments = type_name.strip("/").split("/")
            if (
                segments[0].lower() == "microsoft.resources"
                and len(segments) > 1
                and segments[1].lower() == "deployments"
            ):
                raise TemplateError("Nested and linked deployments are not supported by the emulator.")
            names = name.split("/")
            if len(names) != len(segments) - 1:
                raise TemplateError(
                    f"The template resource '{name}' for type '{type_name}' has an incorrect number of name segments: "
                    f"it needs {len(segments) - 1}."
                )
            depends = evaluated.get("dependsOn") or []
            if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
                raise TemplateError(
                    f"The 'dependsOn' of template resource '{name}' must be an array of strings."
                )
            body = {k: copy.deepcopy(evaluated[k]) for k in BODY_FIELDS if k in evaluated}
            resources.append(
                PlannedResource(
                    index=len(resources),
                    type=type_name,
                    name=name,
                    id=resource_id(scope.subscription, scope.group, type_name, names),
                    api_version=str(evaluated["apiVersion"]),
                    body=body,
                    depends_on=[],
                    enabled=enabled,
                    loop=loop,
                )
            )
            pending_depends.append(depends)

    by_id: dict[str, PlannedResource] = {}
    for res in resources:
        if res.id.lower() in by_id:
            raise TemplateError(
                f"The resource '{res.type}/{res.name}' is defined multiple times in a template."
            )
        by_id[res.id.lower()] = res
    for res, depends in zip(resources, pending_depends, strict=True):
        found: list[str] = []
        for ref in depends:
            for target in _resolve_dependency(ref, resources, scope):
                if target.id not in found and target.id != res.id:
                    found.append(target.id)
        res.depends_on = found

    graph = nx.DiGraph()
    graph.add_nodes_from(r.id for r in resources)
    graph.add_edges_from((dep, r.id) for r in resources for dep in r.depends_on)
    try:
        order_ids = list(nx.lexicographical_topological_sort(graph, key=lambda i: by_id[i.lower()].index))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(graph)
        raise TemplateError(
            f"Circular dependency detected on resource: '{cycle[0][0]}'. Please see https://aka.ms/arm-template/#resources for usage details."
        ) from None
    outputs = _outputs(template.get("outputs") or {}, ev)
    declared = template.get("parameters") or {}
    return Plan(
        resources=resources,
        order=[by_id[i.lower()] for i in order_ids],
        outputs=outputs,
        parameters=shown_parameters(declared, ev.parameters),
        template_hash=template_hash(template),
        secure_values=[
            str(v)
            for k, v in ev.parameters.items()
            if str((declared.get(k) or {}).get("type", "")).lower() in _SECURE_TYPES and v
        ],
    )


def _resolve_dependency(ref: str, resources: list[PlannedResource], scope: Scope) -> list[PlannedResource]:
    low = ref.lower()
    if low.startswith("/subscriptions/"):
        matches = [r for r in resources if r.id.lower() == low]
    elif "/" in ref:
        segments = ref.strip("/").split("/")
        names = segments[2::2]
        type_name = "/".join([segments[0], *segments[1::2]])
        try:
            wanted = resource_id(scope.subscription, scope.group, type_name, names).lower()
        except TemplateError:
            wanted = ""
        matches = [r for r in resources if r.id.lower() == wanted]
    else:
        matches = [r for r in resources if r.name.lower() == low or (r.loop or "").lower() == low]
    if not matches:
        raise TemplateError(
            f"The resource '{ref}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details."
        )
    return matches


def _outputs(declared: object, ev: Evaluator) -> dict:
    if not isinstance(declared, dict):
        raise TemplateError("The template 'outputs' must be an object.")
    out = {}
    for name, spec in declared.items():
        if not isinstance(spec, dict) or "value" not in spec or "copy" in spec:
            raise TemplateError(
                f"The template output '{name}' must have a 'type' and a 'value' (output loops are not supported)."
            )
        kind = str(spec.get("type", "string")).lower()
        entry: dict = {"type": _TYPE_NAMES.get(kind, "String")}
        if kind not in _SECURE_TYPES:
            entry["value"] = ev.value(spec["value"])
        out[name] = entry
    return out


def template_hash(template: dict) -> str:
    """A stable decimal hash of the template, as ARM shows `templateHash`."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return str(int.from_bytes(digest[:8], "big"))
