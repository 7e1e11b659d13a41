"""'Did you mean ...?' suggestions for typos in field names and references."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word`` (case-insensitive), if one is close enough."""
    options = list(dict.fromkeys(candidates))
    by_lower = {c.lower(): c for c in options}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or the empty string."""
    match = closest(word, candidates)
    return f" (did you mean '{match}'?)" if match and match != word else ""


def printable(text: str, limit: int = 40) -> str:
    """User text made safe for a one-line message: control characters escaped, long text cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
