"""The rate limit (N calls per rolling window per API application) and the fault-injection rules.

Counting choice (documented in README.md): every authenticated call that the limiter admits is one call in the
window of its application key, whatever happens next (an injected error, an injected throttle burst, latency,
a dropped connection, a 404): the real server has spent the call. A call the limiter itself refuses is not
recorded in the window, so a client that keeps retrying gets in again as soon as the oldest call ages out; set
`count_throttled=True` to make refused calls count too (a harsher reading of "far less consistent").
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

THROTTLE_MODES = ("429", "503", "mixed")


class SandboxClock:
    """Monotonic seconds plus an offset that tests may advance instead of sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


class RateLimiter:
    def __init__(
        self,
        clock: SandboxClock,
        calls: int,
        window_seconds: float,
        *,
        count_throttled: bool = False,
    ) -> None:
        self._clock = clock
        self.calls = calls
        self.window_seconds = window_seconds
        self.count_throttled = count_throttled
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str) -> bool:
        now = self._clock.now()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_seconds:
                hits.popleft()
            if len(hits) < self.calls:
                hits.append(now)
                return True
            if self.count_throttled:
                hits.append(now)
            return False

    def used(self, key: str) -> int:
        now = self._clock.now()
        with self._lock:
            hits = self._hits.get(key, deque())
            return sum(1 for hit in hits if hit > now - self.window_seconds)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def throttle_response(mode: str, calls: int, rng: random.Random) -> tuple[int, Any]:
    """Cin7's two documented/observed throttle answers; neither carries Retry-After.

    The message names the nominal window ("per minute" / "per 60 seconds") even when the sandbox compresses
    time with `window_seconds`, so with the default limit the bodies are byte-for-byte Cin7's.
    """
    if mode == "mixed":
        mode = rng.choice(("429", "503"))
    if mode == "503":
        return 503, {
            "ErrorCode": 503,
            "Exception": f"You have reached {calls} calls per 60 seconds API limit.",
        }
    return 429, [{"ErrorCode": 429, "Exception": f"You reached {calls} calls per minute API limit"}]


# ---------------------------------------------------------------------------------------------- faults

METHODS = ("GET", "POST", "PUT", "DELETE", "*")


class FaultRuleError(ValueError):
    pass


@dataclass
class FaultRule:
    id: int
    method: str = "*"
    path: str = ".*"
    error_rate: float = 0.0
    error_status: int = 500
    latency_ms: int = 0
    throttle_every_n_calls: int = 0
    throttle_length: int = 0
    drop_after_commit_rate: float = 0.0
    drop_mode: str = "close"
    hold_seconds: float = 5.0
    seed: int = 0
    pattern: re.Pattern[str] = field(default=re.compile(".*"), repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)
    matched: int = 0
    errors: int = 0
    throttles: int = 0
    drops: int = 0
    delayed: int = 0

    @classmethod
    def from_dict(cls, rule_id: int, raw: Any) -> FaultRule:
        if not isinstance(raw, dict):
            raise FaultRuleError("a fault rule must be a JSON object")
        known = {
            "method",
            "path",
            "error_rate",
            "error_status",
            "latency_ms",
            "throttle_burst",
            "drop_after_commit_rate",
            "drop_mode",
            "hold_seconds",
            "seed",
        }
        unknown = sorted(set(raw) - known)
        if unknown:
            raise FaultRuleError(f"unknown fault rule keys: {', '.join(unknown)}")
        method = str(raw.get("method", "*")).upper()
        if method not in METHODS:
            raise FaultRuleError(f"method must be one of {', '.join(METHODS)}")
        path = str(raw.get("path", ".*"))
        try:
            pattern = re.compile(path)
        except re.error as exc:
            raise FaultRuleError(f"path is not a valid regular expression: {exc}") from None
        rule = cls(id=rule_id, method=method, path=path, pattern=pattern)
        rule.error_rate = _rate(raw, "error_rate")
        rule.drop_after_commit_rate = _rate(raw, "drop_after_commit_rate")
        rule.error_status = _int(raw, "error_status", 500, 400, 599)
        rule.latency_ms = _int(raw, "latency_ms", 0, 0, 600_000)
        burst = raw.get("throttle_burst")
        if burst is not None:
            if not isinstance(burst, dict):
                raise FaultRuleError("throttle_burst must be an object {every_n_calls, length}")
            rule.throttle_every_n_calls = _int(burst, "every_n_calls", 0, 1, 10**9)
            rule.throttle_length = _int(burst, "length", 1, 0, rule.throttle_every_n_calls)
        rule.drop_mode = str(raw.get("drop_mode", "close"))
        if rule.drop_mode not in ("close", "hold"):
            raise FaultRuleError("drop_mode must be 'close' or 'hold'")
        try:
            rule.hold_seconds = float(raw.get("hold_seconds", 5.0))
        except (TypeError, ValueError):
            raise FaultRuleError("hold_seconds must be a number") from None
        rule.seed = _int(raw, "seed", 0, -(2**63), 2**63)
        rule.rng = random.Random(rule.seed)
        return rule

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and self.pattern.search(path) is not None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "latency_ms": self.latency_ms,
            "drop_after_commit_rate": self.drop_after_commit_rate,
            "drop_mode": self.drop_mode,
            "hold_seconds": self.hold_seconds,
            "seed": self.seed,
            "matched": self.matched,
            "errors": self.errors,
            "throttles": self.throttles,
            "drops": self.drops,
            "delayed": self.delayed,
        }
        if self.throttle_every_n_calls:
            out["throttle_burst"] = {
                "every_n_calls": self.throttle_every_n_calls,
                "length": self.throttle_length,
            }
        return out


def _rate(raw: dict[str, Any], key: str) -> float:
    try:
        value = float(raw.get(key, 0.0))
    except (TypeError, ValueError):
        raise FaultRuleError(f"{key} must be a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise FaultRuleError(f"{key} must be between 0 and 1")
    return value


def _int(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultRuleError(f"{key} must be an integer")
    if not low <= value <= high:
        raise FaultRuleError(f"{key} must be between {low} and {high}")
    return value


@dataclass
class FaultDecision:
    latency_s: float = 0.0
    action: str | None = None  # "error" | "throttle" | None
    error_status: int = 500
    drop: FaultRule | None = None


class FaultInjector:
    """Rules are evaluated in the order they were added; latencies add up; the first error/throttle wins.

    All random draws for one call happen up front under one lock, so a single client sees the same sequence of
    faults on every run with the same seeds.
    """

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, raw_rules: list[Any]) -> list[FaultRule]:
        with self._lock:
            rules = [FaultRule.from_dict(self._next_id + index, raw) for index, raw in enumerate(raw_rules)]
            self._next_id += len(rules)
            self._rules.extend(rules)
            return rules

    def clear(self, rule_id: int | None = None) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if rule_id is not None and r.id != rule_id]
            return before - len(self._rules)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def evaluate(self, method: str, path: str) -> FaultDecision:
        decision = FaultDecision()
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                rule.matched += 1
                error_draw = rule.rng.random() if rule.error_rate else 1.0
                drop_draw = rule.rng.random() if rule.drop_after_commit_rate else 1.0
                if rule.latency_ms:
                    rule.delayed += 1
                    decision.latency_s += rule.latency_ms / 1000.0
                if decision.action is not None:
                    continue
                every = rule.throttle_every_n_calls
                if every and (rule.matched - 1) % every >= every - rule.throttle_length:
                    rule.throttles += 1
                    decision.action = "throttle"
                elif error_draw < rule.error_rate:
                    rule.errors += 1
                    decision.action = "error"
                    decision.error_status = rule.error_status
                elif decision.drop is None and method != "GET" and drop_draw < rule.drop_after_commit_rate:
                    decision.drop = rule
        return decision

    def count_drop(self, rule: FaultRule) -> None:
        with self._lock:
            rule.drops += 1
