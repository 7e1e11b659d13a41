"""A stack's identity: the same on a laptop (ssh clone) and in CI (https clone), distinct per folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagepipe.spec.identity import MAX_IDENTITY, stack_identity


def clone(root: Path, url: str) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text(f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {url}\n')
    (root / "teamA" / "web").mkdir(parents=True)
    (root / "teamB" / "web").mkdir(parents=True)
    return root


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:Acme/images.git",
        "https://github.com/acme/images",
        "https://x-access-token:secret@github.com/acme/images.git",
        "ssh://git@github.com/acme/images.git",
    ],
)
def test_every_clone_form_of_a_repository_gives_one_identity(tmp_path: Path, url: str) -> None:
    repo = clone(tmp_path / "checkout", url)
    assert stack_identity(repo / "teamA" / "web", None) == "github.com/acme/images:teamA/web"


def test_folders_of_one_name_get_different_identities(tmp_path: Path) -> None:
    repo = clone(tmp_path / "checkout", "git@github.com:acme/images.git")
    assert stack_identity(repo / "teamA" / "web", None) != stack_identity(repo / "teamB" / "web", None)


def test_a_worktree_reads_the_main_repository_s_remote(tmp_path: Path) -> None:
    repo = clone(tmp_path / "checkout", "https://github.com/acme/images")
    gitdir = repo / ".git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "commondir").write_text("../..\n")
    worktree = tmp_path / "wt"
    (worktree / "teamA" / "web").mkdir(parents=True)
    (worktree / ".git").write_text(f"gitdir: {gitdir}\n")
    assert stack_identity(worktree / "teamA" / "web", None) == "github.com/acme/images:teamA/web"


def test_no_remote_uses_the_repository_folder_and_no_git_the_absolute_path(tmp_path: Path) -> None:
    repo = tmp_path / "images"
    (repo / ".git").mkdir(parents=True)
    (repo / "web").mkdir()
    assert stack_identity(repo / "web", None) == "images:web"
    plain = tmp_path / "plain" / "web"
    plain.mkdir(parents=True)
    assert stack_identity(plain, None) == f"path:{plain.resolve().as_posix()}"


def test_an_explicit_name_is_the_identity_and_long_ones_fit_a_tag(tmp_path: Path) -> None:
    assert stack_identity(tmp_path, "payments") == "payments"
    deep = tmp_path.joinpath(*["a" * 60] * 6)
    deep.mkdir(parents=True)
    assert len(stack_identity(deep, None)) <= MAX_IDENTITY
