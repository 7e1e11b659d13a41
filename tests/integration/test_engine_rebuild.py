"""A changed customize script of a source generalized in place is never dropped: the VM is rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import LEARN_VM, apply, copy_learn, plan

from imagepipe.azure import records as r
from imagepipe.azure.adapters import Azure
from imagepipe.azure.target import Target
from imagepipe.errors import ConflictError


def test_a_changed_script_rebuilds_the_in_place_source_and_is_in_the_new_image(
    tmp_path: Path, target: Target, azure: Azure
) -> None:
    folder = copy_learn(tmp_path)
    assert apply(target, folder).result.ok
    spec = folder / "learn-exercise.yaml"
    spec.write_text(spec.read_text().replace("install nginx", "install nginx curl"))

    changed = plan(target, folder)
    vm = changed.change("SourceVM/source/vm")
    assert vm is not None and vm.action == "replace" and "customize scripts" in vm.reason
    script = changed.change("SourceVM/source/customize[0]")
    assert script is not None and script.action == "action" and "rebuilt" in script.reason
    image = changed.change("Capture/my-image/image")
    assert image is not None and image.action == "conflict" and "new image name" in image.reason
    with pytest.raises(ConflictError):
        apply(target, folder)

    spec.write_text(spec.read_text().replace("name: myImage", "name: myImage2"))
    renamed = plan(target, folder)
    acted = {c.address for c in renamed.changes if c.action == "action"}
    assert {"Capture/my-image/deprovision", "Capture/my-image/generalize"} <= acted
    outcome = apply(target, folder)
    assert outcome.result.ok
    assert outcome.result.counts()["actions"] == len(acted)  # the plan listed every action apply ran
    assert azure.get(r.IMAGE, "learn-rg", "myImage") is None  # the renamed image went, after
    assert azure.get(r.IMAGE, "learn-rg", "myImage2") is not None
    assert azure.get(r.VM, "learn-rg", LEARN_VM) is not None
    assert not plan(target, folder).has_changes
