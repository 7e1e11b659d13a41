"""A stack's identity: what its resources are stamped with, so two stacks never take each other's.

A Stack document's ``metadata.name`` is the identity the user chose. Without one, the
name is the folder's, which two teams easily share (``teamA/web``, ``teamB/web``), so
the identity is the folder's place instead: the repository (its ``origin`` remote,
else its folder name) and the path inside it, which is the same on a laptop and in
CI. Outside a git repository it is the folder's absolute path.
"""

from __future__ import annotations

import configparser
import hashlib
import re
from pathlib import Path

# Azure tag values hold at most 256 characters.
MAX_IDENTITY = 256


def stack_identity(root: Path, explicit_name: str | None) -> str:
    if explicit_name:
        return explicit_name
    folder = Path(root).resolve()
    if folder.is_file():
        folder = folder.parent
    repo = _repository_root(folder)
    if repo is None:
        return _bounded(f"path:{folder.as_posix()}")
    relative = folder.relative_to(repo).as_posix()
    return _bounded(f"{_repository_name(repo)}:{relative}")


def _bounded(identity: str) -> str:
    if len(identity) <= MAX_IDENTITY:
        return identity
    tail = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return identity[: MAX_IDENTITY - 17] + "~" + tail


def _repository_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _repository_name(repo: Path) -> str:
    """``host/owner/name`` of the ``origin`` remote (https and ssh forms agree), else the folder's name."""
    url = _origin_url(repo)
    if not url:
        return repo.name
    url = re.sub(r"^[a-z+]+://", "", url.strip())
    url = re.sub(r"^[^@/]+@", "", url)  # user@ of ssh and of https with credentials
    url = re.sub(r"^([^/:]+):(?!\d)", r"\1/", url)  # scp-like git@host:owner/name
    url = re.sub(r"\.git/?$", "", url).rstrip("/")
    return url.lower() or repo.name


def _origin_url(repo: Path) -> str | None:
    config = _git_dir(repo / ".git")
    if config is None:
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(config / "config", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    section = 'remote "origin"'
    return parser.get(section, "url", fallback=None) if parser.has_section(section) else None


def _git_dir(dot_git: Path) -> Path | None:
    """The folder holding the repository's config (a worktree's ``.git`` file points elsewhere)."""
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = (dot_git.parent / text.removeprefix("gitdir:").strip()).resolve()
    common = gitdir / "commondir"
    if common.is_file():
        try:
            return (gitdir / common.read_text(encoding="utf-8").strip()).resolve()
        except (OSError, UnicodeDecodeError):
            return None
    return gitdir
