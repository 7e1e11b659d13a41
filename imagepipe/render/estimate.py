"""The plan's duration estimate, read defensively: a plan made before estimates existed
(or a saved one) has none, and the figure may be a number of seconds or an object."""

from __future__ import annotations

from numbers import Real

from imagepipe.plan.model import Plan

_ATTRIBUTES = ("estimate", "duration_estimate", "estimated_duration", "estimated_seconds")
_FIELDS = ("seconds", "total_seconds", "total_s", "duration_s", "expected_s")


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, dict):
        return next((_seconds(value[f]) for f in _FIELDS if f in value), None)
    for field in _FIELDS:
        found = getattr(value, field, None)
        found = found() if callable(found) else found
        if found is not None:
            return _seconds(found)
    return None


def plan_estimate_seconds(plan: Plan) -> float | None:
    """Seconds the plan's apply is expected to take, when the plan carries an estimate."""
    for name in _ATTRIBUTES:
        seconds = _seconds(getattr(plan, name, None))
        if seconds is not None and seconds >= 0:
            return seconds
    return None


def estimate_text(seconds: float) -> str:
    """``about 25 min`` / ``about 40 s`` / ``about 2 h 10 min``."""
    if seconds < 90:
        return f"about {round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"
