"""Fault injection, configured over the control API so a test or a chaos suite in another process can drive it.

A rule matches requests by method (`*` for any) and a regular expression searched in the path (the query string
is not part of it). For each matching request the rule draws from its own seeded generator, in this order:

- `latency_ms`: always added before the request is handled;
- `throttle_rate`: answer `throttle_status` (429 by default, as a WAF in front of Oro would; plain-text body,
  no Retry-After) without doing anything;
- `error_rate`: answer `error_status` (500 by default, JSON:API error document) without doing anything;
- `drop_after_commit_rate`: handle the request (the write is committed), then never answer: `drop_mode`
  `close` closes the connection without a response, `hold` keeps it open `hold_ms` then closes it, so a
  client with a shorter timeout sees a timeout while the record exists.

`times` caps how many faults (throttle + error + drop) a rule injects; latency is not counted.
Webhook faults are global: `webhook_duplicate_rate` delivers a notification twice (same messageId),
`webhook_drop_rate` never sends it (recorded as `dropped`), drawn from `webhook_seed`.

Batch faults are global too: `batch_fail_ids` `{"inventorylevels": ["12", "15"], "products": ["3"]}` makes the
Batch API refuse the records of those types and ids (a partial failure): each becomes an error of its own
(status 400, title `sandbox fault`, pointer `/data/N` = its index in the request's `data`), the other records
are applied, and an asynchronous operation still ends `success` with `errorCount` = the refused records (in sync
mode the whole request is refused, as for any failing record). Setting it replaces the previous map; `{}` clears
it.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

RULE_KEYS = {
    "name",
    "method",
    "path",
    "error_rate",
    "error_status",
    "latency_ms",
    "throttle_rate",
    "throttle_status",
    "drop_after_commit_rate",
    "drop_mode",
    "hold_ms",
    "seed",
    "times",
}
WEBHOOK_KEYS = {"webhook_duplicate_rate", "webhook_drop_rate", "webhook_seed"}
GLOBAL_KEYS = WEBHOOK_KEYS | {"batch_fail_ids"}


class FaultConfigError(ValueError):
    pass


def _rate(body: dict[str, Any], key: str) -> float:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultConfigError(f"{key} must be a number between 0 and 1")
    return float(value)


def _batch_fail_ids(value: Any) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict) or not all(
        isinstance(ids, list) and all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids)
        for ids in value.values()
    ):
        raise FaultConfigError('batch_fail_ids must be {"<resource type>": ["<id>", ...]}')
    return {str(type_): frozenset(str(i) for i in ids) for type_, ids in value.items()}


def _int(body: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FaultConfigError(f"{key} must be an integer between {lo} and {hi}")
    return value


@dataclass
class FaultRule:
    method: str
    path: str
    error_rate: float = 0.0
    error_status: int = 500
    latency_ms: int = 0
    throttle_rate: float = 0.0
    throttle_status: int = 429
    drop_after_commit_rate: float = 0.0
    drop_mode: str = "close"
    hold_ms: int = 30000
    seed: int = 42
    times: int | None = None
    name: str | None = None
    stats: dict[str, int] = field(
        default_factory=lambda: {"matched": 0, "delayed": 0, "throttled": 0, "errors": 0, "dropped": 0}
    )
    fired: int = 0
    _regex: re.Pattern[str] = field(init=False, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._regex = re.compile(self.path)
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, body: Any, index: int) -> FaultRule:
        if not isinstance(body, dict):
            raise FaultConfigError(f"rule {index}: must be an object")
        unknown = set(body) - RULE_KEYS
        if unknown:
            raise FaultConfigError(f"rule {index}: unknown keys {sorted(unknown)}")
        method = str(body.get("method", "*")).upper()
        if method not in {"*", "GET", "POST", "PATCH", "DELETE", "PUT"}:
            raise FaultConfigError(f"rule {index}: method must be GET|POST|PATCH|DELETE|PUT|*")
        path = body.get("path", ".*")
        try:
            re.compile(path)
        except (re.error, TypeError) as exc:
            raise FaultConfigError(f"rule {index}: path is not a valid regular expression: {exc}") from None
        drop_mode = body.get("drop_mode", "close")
        if drop_mode not in ("close", "hold"):
            raise FaultConfigError(f"rule {index}: drop_mode must be close or hold")
        times = body.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise FaultConfigError(f"rule {index}: times must be a non-negative integer or null")
        return cls(
            method=method,
            path=path,
            error_rate=_rate(body, "error_rate"),
            error_status=_int(body, "error_status", 500, 400, 599),
            latency_ms=_int(body, "latency_ms", 0, 0, 600000),
            throttle_rate=_rate(body, "throttle_rate"),
            throttle_status=_int(body, "throttle_status", 429, 400, 599),
            drop_after_commit_rate=_rate(body, "drop_after_commit_rate"),
            drop_mode=drop_mode,
            hold_ms=_int(body, "hold_ms", 30000, 0, 600000),
            seed=_int(body, "seed", 42 + index, -(2**31), 2**31),
            times=times,
            name=body.get("name"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "latency_ms": self.latency_ms,
            "throttle_rate": self.throttle_rate,
            "throttle_status": self.throttle_status,
            "drop_after_commit_rate": self.drop_after_commit_rate,
            "drop_mode": self.drop_mode,
            "hold_ms": self.hold_ms,
            "seed": self.seed,
            "times": self.times,
            "stats": dict(self.stats),
        }


@dataclass
class Decision:
    latency_s: float = 0.0
    status: int | None = None
    kind: str | None = None  # throttle | error
    drop: tuple[str, float] | None = None  # (mode, hold seconds)
    rule: str | None = None


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.webhook_duplicate_rate = 0.0
        self.webhook_drop_rate = 0.0
        self.webhook_seed = 42
        self._webhook_rng = random.Random(self.webhook_seed)
        self.webhook_stats = {"duplicated": 0, "dropped": 0}
        self.batch_fail_ids: dict[str, frozenset[str]] = {}
        self.batch_failed = 0

    def configure(self, body: Any) -> None:
        """Add rules and/or set webhook faults. Accepts {"rules": [...], "webhook_*": ...}, one rule, or a list."""
        if isinstance(body, list):
            body = {"rules": body}
        if not isinstance(body, dict):
            raise FaultConfigError("body must be an object or a list of rules")
        body = dict(body)
        webhook = {k: body.pop(k) for k in list(body) if k in GLOBAL_KEYS}
        rules_raw = body.pop("rules", None)
        if rules_raw is None and body:
            rules_raw = [body]
        elif body:
            raise FaultConfigError(f"unknown keys {sorted(body)}")
        rules_raw = rules_raw or []
        if not isinstance(rules_raw, list):
            raise FaultConfigError("rules must be a list")
        with self._lock:
            start = len(self.rules)
        parsed = []
        for i, raw in enumerate(rules_raw):
            if isinstance(raw, dict):
                raw = dict(raw)
                for k in list(raw):
                    if k in GLOBAL_KEYS:
                        webhook[k] = raw.pop(k)
                if not raw:
                    continue
            parsed.append(FaultRule.parse(raw, start + i))
        dup = _rate(webhook, "webhook_duplicate_rate") if "webhook_duplicate_rate" in webhook else None
        drop = _rate(webhook, "webhook_drop_rate") if "webhook_drop_rate" in webhook else None
        seed = _int(webhook, "webhook_seed", 42, -(2**31), 2**31) if "webhook_seed" in webhook else None
        fail_ids = _batch_fail_ids(webhook.pop("batch_fail_ids")) if "batch_fail_ids" in webhook else None
        with self._lock:
            self.rules.extend(parsed)
            if dup is not None:
                self.webhook_duplicate_rate = dup
            if drop is not None:
                self.webhook_drop_rate = drop
            if fail_ids is not None:
                self.batch_fail_ids = fail_ids
            if seed is not None or webhook:
                self.webhook_seed = seed if seed is not None else self.webhook_seed
                self._webhook_rng = random.Random(self.webhook_seed)

    def clear(self) -> None:
        with self._lock:
            self.rules = []
            self.webhook_duplicate_rate = 0.0
            self.webhook_drop_rate = 0.0
            self.webhook_seed = 42
            self._webhook_rng = random.Random(self.webhook_seed)
            self.webhook_stats = {"duplicated": 0, "dropped": 0}
            self.batch_fail_ids = {}
            self.batch_failed = 0

    def batch_fails(self, type_: str, id_: Any) -> bool:
        """Whether the Batch API must refuse this record (`batch_fail_ids`); counts it when so."""
        with self._lock:
            if id_ is None or str(id_) not in self.batch_fail_ids.get(type_, ()):
                return False
            self.batch_failed += 1
            return True

    def decide(self, method: str, path: str) -> Decision:
        decision = Decision()
        with self._lock:
            for rule in self.rules:
                if rule.method not in ("*", method) or not rule._regex.search(path):
                    continue
                rule.stats["matched"] += 1
                if rule.latency_ms:
                    decision.latency_s += rule.latency_ms / 1000
                    rule.stats["delayed"] += 1
                r_throttle, r_error, r_drop = rule._rng.random(), rule._rng.random(), rule._rng.random()
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if decision.status is None and rule.throttle_rate and r_throttle < rule.throttle_rate:
                    decision.status, decision.kind, decision.rule = (
                        rule.throttle_status,
                        "throttle",
                        rule.name,
                    )
                    rule.stats["throttled"] += 1
                    rule.fired += 1
                elif decision.status is None and rule.error_rate and r_error < rule.error_rate:
                    decision.status, decision.kind, decision.rule = rule.error_status, "error", rule.name
                    rule.stats["errors"] += 1
                    rule.fired += 1
                elif (
                    decision.drop is None
                    and rule.drop_after_commit_rate
                    and r_drop < rule.drop_after_commit_rate
                ):
                    decision.drop = (rule.drop_mode, rule.hold_ms / 1000)
                    rule.stats["dropped"] += 1
                    rule.fired += 1
        return decision

    def webhook_fate(self) -> str | None:
        with self._lock:
            if not (self.webhook_drop_rate or self.webhook_duplicate_rate):
                return None
            r_drop, r_dup = self._webhook_rng.random(), self._webhook_rng.random()
            if self.webhook_drop_rate and r_drop < self.webhook_drop_rate:
                self.webhook_stats["dropped"] += 1
                return "drop"
            if self.webhook_duplicate_rate and r_dup < self.webhook_duplicate_rate:
                self.webhook_stats["duplicated"] += 1
                return "duplicate"
            return None

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [r.to_json() for r in self.rules],
                "webhook_duplicate_rate": self.webhook_duplicate_rate,
                "webhook_drop_rate": self.webhook_drop_rate,
                "webhook_seed": self.webhook_seed,
                "webhook_stats": dict(self.webhook_stats),
                "batch_fail_ids": {t: sorted(ids) for t, ids in self.batch_fail_ids.items()},
                "batch_failed": self.batch_failed,
            }
