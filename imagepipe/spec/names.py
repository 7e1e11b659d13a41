"""The namePattern language and Azure's naming rules for what imagepipe creates.

A namePattern is a closed grammar, never Python's ``str.format``: literal text
and the field ``{index}``, optionally zero-padded as ``{index:0Nd}`` with N from
1 to 5. Nothing else is a field (no attributes, no other conversions, no
``{{``), so a pattern can neither reach Python objects nor grow without bound.

The naming rules follow Microsoft Learn, "Naming rules and restrictions for
Azure resources" (Microsoft.Compute and Microsoft.Network), and the computer
name limits of the OS profile (Windows 15 characters, Linux 64).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from imagepipe.spec.suggest import printable

MAX_PAD_WIDTH = 5
_FIELD = re.compile(r"\{index(?::0([1-9])d)?\}")
_ALNUM = re.compile(r"[A-Za-z0-9]")


class PatternError(ValueError):
    """Why a namePattern is not in the grammar."""


@dataclass(frozen=True)
class NamePattern:
    """A parsed namePattern: literal text and index fields (their widths, 0 for none)."""

    parts: tuple[str | int, ...]

    @property
    def has_index(self) -> bool:
        return any(isinstance(p, int) for p in self.parts)

    def format(self, index: int) -> str:
        return "".join(p if isinstance(p, str) else f"{index:0{p}d}" if p else str(index) for p in self.parts)


@lru_cache(maxsize=1024)
def parse_pattern(pattern: str) -> NamePattern:
    """The pattern's parts; raises PatternError naming the first thing outside the grammar."""
    parts: list[str | int] = []
    literal = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "{":
            match = _FIELD.match(pattern, i)
            if match is None or (match[1] and int(match[1]) > MAX_PAD_WIDTH):
                end = pattern.find("}", i)
                shown = printable(pattern[i : end + 1] if end >= 0 else pattern[i:], 30)
                raise PatternError(
                    f"'{shown}' at character {i + 1} is not a field; the only fields are {{index}} "
                    f"and {{index:0Nd}} with N from 1 to {MAX_PAD_WIDTH} (e.g. {{index:02d}})"
                )
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(int(match[1] or 0))
            i = match.end()
            continue
        if char == "}":
            raise PatternError(f"'}}' at character {i + 1} closes no field")
        literal += char
        i += 1
    if literal:
        parts.append(literal)
    return NamePattern(tuple(parts))


def format_name(pattern: str, index: int) -> str:
    return parse_pattern(pattern).format(index)


# -- Azure naming rules --------------------------------------------------------------------


@dataclass(frozen=True)
class NameRule:
    what: str
    max_length: int
    allowed: re.Pattern[str]
    allowed_text: str
    end: re.Pattern[str]  # what the last character may be
    end_text: str


_VM_LINUX = NameRule(
    "a Linux VM name",
    64,
    re.compile(r"[A-Za-z0-9.-]+"),
    "letters, digits, '-' and '.'",
    re.compile(r"[A-Za-z0-9]"),
    "a letter or digit",
)
_VM_WINDOWS = NameRule(
    "a Windows VM name (its computer name)",
    15,
    re.compile(r"[A-Za-z0-9-]+"),
    "letters, digits and '-'",
    re.compile(r"[A-Za-z0-9]"),
    "a letter or digit",
)
# Network interfaces, disks, snapshots and images share one rule.
_RESOURCE = NameRule(
    "a resource name",
    80,
    re.compile(r"[A-Za-z0-9_.-]+"),
    "letters, digits, '_', '-' and '.'",
    re.compile(r"[A-Za-z0-9_]"),
    "a letter, digit or '_'",
)


def vm_rule(os_type: str) -> NameRule:
    return _VM_WINDOWS if os_type == "Windows" else _VM_LINUX


def scale_set_rule(os_type: str) -> NameRule:
    return vm_rule(os_type)


def resource_rule() -> NameRule:
    return _RESOURCE


def name_problem(name: str, rule: NameRule) -> str | None:
    """Why ``name`` breaks ``rule``, or None when Azure accepts it."""
    shown = printable(name, 90)
    if not name:
        return f"'{shown}' is empty; {rule.what} has 1 to {rule.max_length} characters"
    if len(name) > rule.max_length:
        return f"'{shown}' has {len(name)} characters; {rule.what} has at most {rule.max_length}"
    if not rule.allowed.fullmatch(name):
        return f"'{shown}' is not {rule.what}: use only {rule.allowed_text}"
    if not _ALNUM.match(name[0]):
        return f"'{shown}' is not {rule.what}: it must start with a letter or digit"
    if not rule.end.match(name[-1]):
        return f"'{shown}' is not {rule.what}: it must end with {rule.end_text}"
    if rule is _VM_WINDOWS and name.isdigit():
        return f"'{shown}' is not {rule.what}: it cannot be only digits"
    return None
