"""The reference's complete example is itself a valid spec set."""

import re
import shutil
from pathlib import Path

from imagepipe.graph import build_graph
from imagepipe.spec import load_one

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_example_validates(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "spec-language.md").read_text()
    example = re.search(r"## A complete example.*?```yaml\n(.*?)```", text, re.S)
    assert example is not None
    (tmp_path / "example.yaml").write_text(example.group(1))
    shutil.copy(ROOT / "specs" / "learn-exercise" / "demo_id_ed25519.pub", tmp_path)
    specset = load_one([tmp_path])
    assert specset.name == "learn-exercise"
    steps = [s.address for s in build_graph(specset).steps()]
    assert steps.index("Capture/my-image/generalize") < steps.index("Deployment/new-vm/vm[0]")
