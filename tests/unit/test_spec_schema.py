"""The schema ships in the package, is self-describing and strict, and the examples point at it."""

from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from imagepipe.spec.schema import schema, schema_id

ROOT = Path(__file__).resolve().parents[2]


def _objects(node: Any, path: str = "#"):
    if isinstance(node, dict):
        if "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}/{i}")


def test_schema_is_valid_draft_2020_12_with_an_id() -> None:
    document = schema()
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema_id().startswith("https://")


def test_every_property_has_a_description_and_objects_are_closed() -> None:
    shapes = [(path, obj) for path, obj in _objects(schema()) if obj.get("type") == "object"]
    assert len(shapes) >= 15
    for path, obj in shapes:
        assert "description" in obj, f"{path} has no description"
        assert obj.get("additionalProperties") is False, f"{path} is not closed"
        for name, prop in obj["properties"].items():
            assert "description" in prop, f"{path}/properties/{name} has no description"


def test_top_level_schemas_folder_is_the_packaged_one() -> None:
    assert (ROOT / "schemas" / "imagepipe-v1.schema.json").resolve() == (
        ROOT / "imagepipe" / "schemas" / "imagepipe-v1.schema.json"
    ).resolve()


def test_every_example_file_has_a_modeline_for_editors() -> None:
    files = sorted((ROOT / "specs").rglob("*.yaml"))
    assert files
    for file in files:
        assert file.read_text().splitlines()[0] == f"# yaml-language-server: $schema={schema_id()}", file
