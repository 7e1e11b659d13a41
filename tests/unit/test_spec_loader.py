"""The loader: files and folders, spec-set boundaries, and files that are not YAML."""

import os
from pathlib import Path

import pytest

from imagepipe.errors import SpecError, UsageError
from imagepipe.spec import load_one, load_spec_sets
from imagepipe.spec.model import Capture, SourceVM

SPECS = Path(__file__).resolve().parents[2] / "specs"

STACK = "apiVersion: imagepipe/v1\nkind: Stack\nmetadata: {name: %s}\nspec: {location: eastus}\n"
SOURCE = """apiVersion: imagepipe/v1
kind: SourceVM
metadata: {name: %s}
spec:
  resourceGroup: rg
  vmName: %s-vm
  create:
    securityType: Standard
    image: Ubuntu2404
    sshPublicKey: {env: KEY}
    subnet: {vnet: v, name: s, addressPrefix: 10.0.0.0/24}
"""


def test_the_examples_are_valid_spec_sets() -> None:
    results = load_spec_sets([SPECS])
    assert sorted(r.name for r in results) == [
        "fleet",
        "learn-exercise",
        "snapshot-restore",
        "trusted-launch",
    ]
    assert all(r.valid and r.specset is not None for r in results), [
        str(d) for r in results for d in r.diagnostics
    ]


def test_each_stack_folder_is_its_own_set_and_loose_files_form_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "stack.yaml").write_text(STACK % "alpha")
    (tmp_path / "a" / "deep").mkdir()
    (tmp_path / "a" / "deep" / "vm.yml").write_text(SOURCE % ("one", "one"))
    (tmp_path / "loose.yaml").write_text(SOURCE % ("two", "two") + "  location: westus\n")
    results = load_spec_sets([tmp_path])
    by_name = {r.name: r for r in results}
    assert set(by_name) == {"alpha", tmp_path.name}
    assert set(by_name["alpha"].specset.documents) == {"Stack/alpha", "SourceVM/one"}
    assert set(by_name[tmp_path.name].specset.documents) == {f"Stack/{tmp_path.name}", "SourceVM/two"}


def test_multi_document_files_and_positions(tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(STACK % "s" + "---\n" + SOURCE % ("vm", "vm"))
    specset = load_one([tmp_path])
    vm = specset.get("SourceVM/vm")
    assert isinstance(vm, SourceVM)
    assert (vm.location.line, vm.location.col) == (6, 1)
    assert vm.create is not None and vm.create.ssh_public_key is not None
    assert vm.create.ssh_public_key.origin is not None and vm.create.ssh_public_key.origin.line == 15


def test_load_one_refuses_several_sets_and_invalid_specs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="expected one spec set, found 4"):
        load_one([SPECS])
    (tmp_path / "bad.yaml").write_text("apiVersion: imagepipe/v1\nkind: Stack\nspec: {location: East US}\n")
    with pytest.raises(SpecError) as caught:
        load_one([tmp_path])
    assert "spec.location" in str(caught.value) and "bad.yaml:3:" in str(caught.value)


def test_warnings_are_kept_on_the_spec_set(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        STACK % "s"
        + "---\n"
        + SOURCE % ("vm", "vm")
        + "---\napiVersion: imagepipe/v1\nkind: Capture\nmetadata: {name: c}\nspec: {source: SourceVM/vm, preserveSource: false, quiesce: none}\n"
    )
    specset = load_one([tmp_path])
    assert [d.severity.value for d in specset.warnings] == ["warning"]
    assert isinstance(specset.get("Capture/c"), Capture)


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or directory"):
        load_spec_sets([tmp_path / "nope"])


def test_symlink_loops_and_unreadable_files_are_located_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stack.yaml").write_text(STACK % "s")
    os.symlink(".", tmp_path / "again")  # a folder that contains itself
    os.symlink("self.yaml", tmp_path / "self.yaml")  # a file that points at itself
    os.symlink("gone.yaml", tmp_path / "dangling.yaml")
    lines = [str(d) for r in load_spec_sets([Path(".")]) for d in r.diagnostics]
    assert lines == [
        "again:1:1: error: symlink loop: this folder is . again",
        "dangling.yaml:1:1: error: cannot read file: No such file or directory",
        "self.yaml:1:1: error: cannot read file: symlink loop",
    ]


def test_hidden_folders_and_other_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK % "s")
    (tmp_path / ".imagepipe").mkdir()
    (tmp_path / ".imagepipe" / "junk.yaml").write_text(": : :")
    (tmp_path / "notes.txt").write_text(": : :")
    assert load_one([tmp_path]).name == "s"


def test_yaml_anchors_within_bounds_are_fine(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "apiVersion: imagepipe/v1\nkind: Stack\nmetadata: {name: s}\nspec:\n  location: eastus\n"
        "  tags: &tags {team: web}\n"
        "---\n" + (SOURCE % ("vm", "vm"))
    )
    assert load_one([tmp_path]).stack.tags == {"team": "web"}


def test_deep_nesting_is_refused_cleanly(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 200 + "]" * 200 + "\n")
    (result,) = load_spec_sets([tmp_path])
    assert result.specset is None
    assert "nesting is deeper than" in str(result.diagnostics[0])
