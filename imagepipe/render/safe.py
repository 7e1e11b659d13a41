"""Text read from Azure (names, tags, error messages, a lock's holder) made safe to print.

Anyone who can tag a resource chooses these strings: a newline could forge a plan line,
an ANSI escape could recolour or hide the output, and rich markup could restyle it.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0 and C1 controls (ESC, CR, LF, ...), and the invisible or direction-changing characters
# that make text display as something else than it is.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# CI agents read workflow commands in a log: GitHub's `::cmd` at a line's start and `##[cmd]`
# anywhere in it, Azure DevOps' `##vso[...]`. A value must never be one: its `#` and `:` shown escaped.
_CI_COMMAND = re.compile(r"##(?=\[|vso\[)|^::", re.IGNORECASE)


def printable(value: object) -> str:
    """``value`` as one line of plain text: control characters shown as ``\\x1b``-style escapes,
    and nothing a CI agent would take for a command."""
    text = _UNPRINTABLE.sub(_escaped, str(value))
    return _CI_COMMAND.sub(lambda m: "\\x23#" if m.group().startswith("#") else "\\x3a:", text)


def markup(value: object) -> str:
    """``value`` for a rich markup string: printable, and its own ``[...]`` shown literally."""
    return escape(printable(value))
