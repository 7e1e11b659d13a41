"""Whatever bytes or YAML a file holds, the loader answers with diagnostics, never an exception."""

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagepipe.spec import load_spec_sets

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
kinds = st.sampled_from(["Stack", "SourceVM", "SourceVHD", "Capture", "Deployment", "Other"])
documents = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["imagepipe/v1", "v2"]),
        "kind": kinds,
        "metadata": yaml_values,
        "spec": yaml_values,
    }
)


def _check(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "spec.yaml").write_bytes(content)
        results = load_spec_sets([Path(folder)])
    for result in results:
        for diagnostic in result.diagnostics:
            for line in [diagnostic.headline, *map(str, diagnostic.notes)]:
                assert "\n" not in line and "Traceback" not in line
            assert diagnostic.location is not None
            assert all(note.location is not None for note in diagnostic.notes)
        assert (result.specset is None) == any(d.is_error for d in result.diagnostics)


@settings(
    max_examples=int(os.environ.get("IMAGEPIPE_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(content: bytes) -> None:
    _check(content)


@settings(
    max_examples=int(os.environ.get("IMAGEPIPE_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n\t %@`,?~0")), max_size=120))
def test_yaml_punctuation_soup(content: str) -> None:
    _check(content.encode())


@settings(
    max_examples=int(os.environ.get("IMAGEPIPE_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(documents, min_size=1, max_size=3))
def test_documents_of_any_shape(docs: list[dict]) -> None:
    import yaml

    _check(yaml.safe_dump_all(docs).encode())


EXAMPLES = Path(__file__).resolve().parents[2] / "specs"


def _example_documents() -> list[dict]:
    import yaml

    return [doc for file in sorted(EXAMPLES.rglob("*.yaml")) for doc in yaml.safe_load_all(file.read_text())]


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@settings(max_examples=int(os.environ.get("IMAGEPIPE_FUZZ_EXAMPLES", "40")), deadline=None)
@given(st.data())
def test_mutated_examples(data: st.DataObject) -> None:
    """Near-valid specs (one field of a real example deleted or replaced) reach the deeper checks."""
    import copy

    import yaml

    docs = copy.deepcopy(_example_documents())
    for _ in range(data.draw(st.integers(1, 3))):
        doc = data.draw(st.sampled_from(docs))
        path = data.draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(
                st.one_of(
                    yaml_values, st.sampled_from(["Capture/web-image", "SourceVM/golden", "eastus", "westus"])
                )
            )
    _check(yaml.safe_dump_all(docs).encode())
