"""Fault injection rules: error answers, LRO failures and added latency, per operation name; and
shrunk throttling budgets (`"budgets"`), so tests reach a limit with a few requests."""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass

from imagepipe.emulator.throttle import Override

ERROR_STATUSES = (429, 500, 502, 503)
_STATUS_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


class FaultError(ValueError):
    """A fault rule that cannot be understood."""


@dataclass(frozen=True)
class Rule:
    operation: str
    probability: float = 1.0
    status: int | None = None
    retry_after: bool = True
    lro_error: str | None = None
    latency_ms: float = 0.0

    def matches(self, operation: str) -> bool:
        return fnmatch.fnmatchcase(operation.lower(), self.operation.lower())

    def as_dict(self) -> dict:
        out: dict = {"operation": self.operation, "probability": self.probability}
        if self.status is not None:
            out.update(status=self.status, retry_after=self.retry_after)
        if self.lro_error:
            out["lro_error"] = self.lro_error
        if self.latency_ms:
            out["latency_ms"] = self.latency_ms
        return out


@dataclass
class Decision:
    status: int | None = None
    retry_after: bool = True
    lro_error: dict | None = None
    latency_ms: float = 0.0

    def error_body(self, operation: str) -> dict:
        code = _STATUS_CODES.get(self.status or 500, "InternalServerError")
        return {
            "error": {"code": code, "message": f"Injected fault ({self.status}) for operation '{operation}'."}
        }


def parse_rules(payload: object) -> tuple[list[Rule], int | None]:
    """Accept a list of rules, or {"rules": [...], "seed": n}; a rule may also carry "seed"."""
    seed = None
    if isinstance(payload, dict):
        seed = payload.get("seed")
        payload = payload.get("rules", [])
    if not isinstance(payload, list):
        raise FaultError("expected a JSON list of rules or an object with 'rules'")
    rules = []
    for index, raw in enumerate(payload):
        if not isinstance(raw, dict):
            raise FaultError(f"rule {index}: expected an object")
        if "seed" in raw and seed is None:
            seed = raw["seed"]
        operation = str(raw.get("operation") or "*")
        try:
            probability = float(raw.get("probability", 1.0))
        except (TypeError, ValueError):
            raise FaultError(f"rule {index}: probability must be a number") from None
        if not 0.0 <= probability <= 1.0:
            raise FaultError(f"rule {index}: probability must be between 0 and 1")
        status = raw.get("status")
        if status is not None and status not in ERROR_STATUSES:
            raise FaultError(f"rule {index}: status must be one of {list(ERROR_STATUSES)}")
        lro_error = raw.get("lro_error")
        latency = float(raw.get("latency_ms") or 0)
        if status is None and not lro_error and not latency:
            raise FaultError(f"rule {index}: needs one of 'status', 'lro_error' or 'latency_ms'")
        rules.append(
            Rule(operation, probability, status, bool(raw.get("retry_after", True)), lro_error, latency)
        )
    if seed is not None and not isinstance(seed, int):
        raise FaultError("seed must be an integer")
    return rules, seed


def parse_budgets(payload: object) -> dict[str, Override] | None:
    """`{"budgets": {"<label pattern>": {"capacity": n, "per_minute": r}}}`; None when absent.

    Labels are the header's `Microsoft.Compute/<Policy>` names, `Microsoft.Network/<Policy>` and
    `ARM/subscription-<reads|writes|deletes>`; fnmatch patterns apply to several.
    """
    if not isinstance(payload, dict) or "budgets" not in payload:
        return None
    raw = payload["budgets"]
    if not isinstance(raw, dict):
        raise FaultError("budgets: expected an object of label -> {capacity, per_minute}")
    out = {}
    for label, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) - {"capacity", "per_minute"} or "capacity" not in spec:
            raise FaultError(f"budgets[{label!r}]: expected {{'capacity': n, 'per_minute': r}}")
        try:
            capacity = float(spec["capacity"])
            per_minute = float(spec.get("per_minute", capacity))
        except (TypeError, ValueError):
            raise FaultError(f"budgets[{label!r}]: capacity and per_minute must be numbers") from None
        if capacity < 1 or per_minute <= 0:
            raise FaultError(f"budgets[{label!r}]: capacity must be at least 1 and per_minute positive")
        out[str(label)] = Override(capacity, per_minute)
    return out


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Rule] = []
        self.seed: int | None = None
        self._random = random.Random()

    def configure(self, rules: list[Rule], seed: int | None) -> None:
        with self._lock:
            self.rules = rules
            self.seed = seed
            self._random = random.Random(seed)

    def decide(self, operation: str) -> Decision:
        decision = Decision()
        if not self.rules:
            return decision
        with self._lock:
            for rule in self.rules:
                if not rule.matches(operation) or self._random.random() >= rule.probability:
                    continue
                if rule.latency_ms:
                    decision.latency_ms += rule.latency_ms
                if rule.status is not None and decision.status is None:
                    decision.status = rule.status
                    decision.retry_after = rule.retry_after
                if rule.lro_error and decision.lro_error is None:
                    decision.lro_error = {
                        "code": rule.lro_error,
                        "message": f"Injected failure '{rule.lro_error}' for operation '{operation}'.",
                    }
        return decision
