"""Property-based fuzzing of the spec loader: whatever the bytes, validation ends with
located one-line diagnostics (or success), never an exception, and never echoes a
literal secret. Bounded and derandomized for CI; scripts/fuzz_specs.py runs the same
properties for as long as asked.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagepipe.spec import load_spec_sets

# A short run by default; `.ci/run` runs the properties again with IMAGEPIPE_FUZZ_EXAMPLES=400.
CI_SETTINGS = settings(
    max_examples=int(os.environ.get("IMAGEPIPE_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
SECRET = "Fz-Secret-7c1e9!"

VALID_DOCUMENTS: list[dict[str, Any]] = [
    {
        "apiVersion": "imagepipe/v1",
        "kind": "Stack",
        "metadata": {"name": "fuzz"},
        "spec": {"location": "eastus"},
    },
    {
        "apiVersion": "imagepipe/v1",
        "kind": "SourceVM",
        "metadata": {"name": "build"},
        "spec": {
            "resourceGroup": "build-rg",
            "vmName": "build-vm",
            "create": {
                "image": "Ubuntu2204",
                "securityType": "Standard",
                "sshPublicKey": {"env": "SSH_KEY"},
                "subnet": {"vnet": "build-vnet", "name": "build", "addressPrefix": "10.0.0.0/24"},
                "dataDisks": [{"sizeGB": 32}],
            },
        },
    },
    {
        "apiVersion": "imagepipe/v1",
        "kind": "Capture",
        "metadata": {"name": "web"},
        "spec": {"source": "SourceVM/build", "gallery": None},
    },
    {
        "apiVersion": "imagepipe/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "image": "Capture/web",
            "resourceGroup": "web-rg",
            "count": 2,
            "subnet": {"vnet": "web-vnet", "name": "web", "addressPrefix": "10.1.0.0/24"},
            "sshPublicKey": {"env": "SSH_KEY"},
        },
    },
]
del VALID_DOCUMENTS[2]["spec"]["gallery"]

YAML_TOKENS = [
    "apiVersion: imagepipe/v1\n",
    "kind: Capture\n",
    "kind: Deployment\n",
    "metadata:\n",
    "  name: web\n",
    "spec:\n",
    "  source: SourceVM/x\n",
    "---\n",
    "...\n",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    ": ",
    "&a ",
    "*a ",
    "!!python/object ",
    "!!str ",
    "? ",
    "|\n",
    ">\n",
    "'",
    '"',
    "\t",
    "  ",
    "\n",
    "#c\n",
    "%YAML 1.1\n",
    "<<: *a\n",
    "~",
    "null",
    "0x1F",
    "1e9",
    ".inf",
    "yes",
    "2024-01-01",
    "\\u0000",
    "\x00",
    "\x1b[2J",
    "é",
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["", "Capture/web", "SourceVM/build", "Ubuntu2204", "auto"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@st.composite
def mutated_spec_sets(draw: st.DrawFn) -> str:
    """The valid documents with a few values replaced, keys deleted or added."""
    import copy

    documents = copy.deepcopy(VALID_DOCUMENTS)
    for _ in range(draw(st.integers(1, 4))):
        doc = draw(st.sampled_from(documents))
        path = draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=draw(st.booleans()))


token_soup = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)
printable_text = st.text(alphabet=string.printable, max_size=400)


def check_clean(tmp_path: Path, content: bytes) -> list[str]:
    """Validate ``content`` as one spec file: every diagnostic located and on one line."""
    folder = tmp_path / "set"
    folder.mkdir(exist_ok=True)
    (folder / "specs.yaml").write_bytes(content)
    results = load_spec_sets([folder])
    # A diagnostic is one located line, and each of its notes (e.g. where YAML noticed it) another.
    lines = [line for r in results for d in r.diagnostics for line in [d.headline, *map(str, d.notes)]]
    for line in lines:
        assert "\n" not in line and "\r" not in line, line
        assert line.split(": ", 1)[0].count(":") >= 2, f"not located: {line}"
        assert SECRET not in line, f"a literal secret was echoed: {line}"
    return lines


def literal_secret_case(tmp_path: Path, case: tuple[tuple[str, ...], Any]) -> None:
    """A literal secret in a secret field is an error that never repeats the value."""
    import copy

    field, value = case
    documents = copy.deepcopy(VALID_DOCUMENTS)
    target = documents[1]
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    lines = check_clean(tmp_path, yaml.safe_dump_all(documents, sort_keys=False).encode())
    assert any(": error: " in line for line in lines)


literal_secrets = st.tuples(
    st.sampled_from([("spec", "create", "sshPublicKey"), ("spec", "create", "adminPassword")]),
    st.one_of(
        st.just(SECRET),
        st.lists(st.just(SECRET), min_size=1, max_size=2),
        st.dictionaries(st.just("value"), st.just(SECRET)),
    ),
)


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# name -> (strategy, property); scripts/fuzz_specs.py runs these same properties for longer.
PROPERTIES: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "arbitrary-bytes": (st.binary(max_size=600), check_clean),
    "yaml-like-text": (
        st.one_of(token_soup, printable_text),
        lambda tmp, text: check_clean(tmp, _encoded(text)),
    ),
    "mutated-spec-sets": (mutated_spec_sets(), lambda tmp, text: check_clean(tmp, _encoded(text))),
    "literal-secrets": (literal_secrets, literal_secret_case),
}


@CI_SETTINGS
@given(content=PROPERTIES["arbitrary-bytes"][0])
def test_arbitrary_bytes_give_located_diagnostics(tmp_path: Path, content: bytes) -> None:
    check_clean(tmp_path, content)


@CI_SETTINGS
@given(text=PROPERTIES["yaml-like-text"][0])
def test_yaml_like_text_gives_located_diagnostics(tmp_path: Path, text: str) -> None:
    check_clean(tmp_path, _encoded(text))


@CI_SETTINGS
@given(text=PROPERTIES["mutated-spec-sets"][0])
def test_mutated_spec_sets_give_located_diagnostics_and_hide_secrets(tmp_path: Path, text: str) -> None:
    check_clean(tmp_path, _encoded(text))


@CI_SETTINGS
@given(case=literal_secrets)
def test_a_literal_secret_in_a_secret_field_is_never_echoed(
    tmp_path: Path, case: tuple[tuple[str, ...], Any]
) -> None:
    literal_secret_case(tmp_path, case)
