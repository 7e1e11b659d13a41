from pathlib import Path

import pytest

from imagepipe.errors import SecretError
from imagepipe.spec.secrets import SecretRef


def test_env_secret_resolves_only_on_reveal_and_never_prints(monkeypatch):
    monkeypatch.setenv("IMAGEPIPE_TEST_PW", "S3cret-Value!")
    ref = SecretRef("env", "IMAGEPIPE_TEST_PW")
    assert "S3cret" not in repr(ref) and "S3cret" not in str(ref) and "S3cret" not in ref.describe()
    assert ref.reveal() == "S3cret-Value!"


def test_missing_env_secret_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("IMAGEPIPE_TEST_MISSING", raising=False)
    with pytest.raises(SecretError, match="IMAGEPIPE_TEST_MISSING is not set"):
        SecretRef("env", "IMAGEPIPE_TEST_MISSING").reveal()


def test_file_secret_is_relative_to_the_spec_folder(tmp_path: Path):
    (tmp_path / "key.pub").write_text("ssh-ed25519 AAAA demo\n")
    assert SecretRef("file", "key.pub", base_dir=tmp_path).reveal() == "ssh-ed25519 AAAA demo"
    with pytest.raises(SecretError, match="cannot read secret file nope.pub"):
        SecretRef("file", "nope.pub", base_dir=tmp_path).reveal()
