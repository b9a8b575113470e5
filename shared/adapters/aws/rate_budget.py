"""The one ERP rate budget (DESIGN §7): a token bucket per ERP API application, one DynamoDB item each.

The bucket holds at most `burst` tokens and refills at `calls_per_minute / 60` tokens a second, computed
from the time elapsed since the last write (no timer). A token is taken with an optimistic conditional
UpdateItem: read the item, compute, write only if its `version` is still the one read; on a lost race,
read again. So any number of Lambdas share one budget without ever spending more than it holds.

Priority flows (orders, fulfilment) may take the last token. Bulk flows (stock, prices, reconcile,
customers, audit) only take one that leaves at least `reserve` tokens behind, so a bulk run can never
starve an order. When no token is available soon (`max_wait_seconds`), `acquire` raises `Throttled` with
the time until one is: the worker hands its message back to the queue with that delay instead of sleeping
in a paid Lambda. `penalise()` empties the bucket when Cin7 itself said "slow down", so every worker backs
off, not just the one that was told.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.config import Config
from shared.errors import ConfigError, Throttled, Transient
from shared.observability import ERP_BUDGET_EXHAUSTED, ERP_TOKENS_TAKEN, count_once, logger
from shared.resources import table

PRIORITY_FLOWS = frozenset({"orders", "fulfilment"})
SYSTEM = "budget"
_SIX_PLACES = Decimal("0.000001")

_client_lock = threading.Lock()
_clients: dict[tuple[str | None, str | None], Any] = {}


def dynamodb_client() -> Any:
    """The module's DynamoDB client, created on first use (imports stay free of side effects). Keyed by
    endpoint and region so a test that points AWS_ENDPOINT_URL elsewhere gets a matching client."""
    key = (
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
    )
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = boto3.client("dynamodb")
            _clients[key] = client
        return client


class BudgetExhausted(Throttled):
    """Our own rate budget has no token for this flow now; `retry_after_seconds` says when it will."""


@dataclass(frozen=True)
class BudgetState:
    tokens: Decimal
    calls_by_flow: dict[str, int] = field(default_factory=dict)
    penalties: int = 0


def _num(value: Decimal) -> dict[str, str]:
    return {"N": str(value.quantize(_SIX_PLACES, rounding=ROUND_HALF_UP))}


class RateBudget:
    """The token bucket of one ERP API application (`application` is its name in `erp.applications`)."""

    def __init__(
        self,
        application: str,
        *,
        calls_per_minute: int = 60,
        burst: int = 5,
        reserve: int = 0,
        priority_flows: Iterable[str] = PRIORITY_FLOWS,
        table_name: str | None = None,
        max_wait_seconds: float = 2.0,
        max_conflicts: int = 10,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        dynamodb: Any = None,
    ) -> None:
        if calls_per_minute < 1 or burst < 1:
            raise ValueError("calls_per_minute and burst must be at least 1")
        self.application = application
        self.capacity = Decimal(burst)
        self.rate = Decimal(calls_per_minute) / Decimal(60)  # tokens per second
        if reserve > burst - 1:
            # A reserve the bucket can never exceed would starve every bulk flow forever.
            logger.warning(
                "rate budget reserve clamped below the bucket size",
                extra={"application": application, "reserve": reserve, "burst": burst},
            )
            reserve = burst - 1
        self.reserve = Decimal(max(0, reserve))
        self.priority_flows = frozenset(priority_flows)
        self.max_wait_seconds = max_wait_seconds
        self.max_conflicts = max_conflicts
        self._table_name = table_name
        self._clock = clock
        self._sleep = sleep
        self._dynamodb = dynamodb
        self.key = f"erp-app#{application}"

    @classmethod
    def for_flow(cls, config: Config, flow: str, **kwargs: Any) -> RateBudget:
        """The budget of the API application that serves `flow` in the config."""
        name = config.erp.application_for(flow)
        app = config.erp.applications[name]
        return cls(
            name, calls_per_minute=app.calls_per_minute, burst=app.burst, reserve=app.reserve, **kwargs
        )

    def __repr__(self) -> str:
        return (
            f"RateBudget(application={self.application!r}, capacity={self.capacity}, rate={self.rate:.4f}/s)"
        )

    # --------------------------------------------------------------------------------- storage

    @property
    def table_name(self) -> str:
        if self._table_name is None:
            env_var = table("rate_budget").env_var
            name = os.environ.get(env_var)
            if not name:
                raise ConfigError(f"{env_var} is not set: the rate budget needs its DynamoDB table")
            self._table_name = name
        return self._table_name

    @property
    def db(self) -> Any:
        return self._dynamodb if self._dynamodb is not None else dynamodb_client()

    def _read(self) -> dict[str, Any] | None:
        try:
            resp = self.db.get_item(
                TableName=self.table_name, Key={"pk": {"S": self.key}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"rate budget: read failed: {type(err).__name__}", system=SYSTEM) from err
        item = resp.get("Item")
        return item if isinstance(item, dict) else None

    def _now(self) -> Decimal:
        return Decimal(repr(self._clock())).quantize(_SIX_PLACES)

    def _level(self, item: dict[str, Any] | None, now: Decimal) -> tuple[Decimal, Decimal, int | None]:
        """(tokens now, time to stamp, version read); a missing item is a full bucket."""
        if item is None:
            return self.capacity, now, None
        stored = Decimal(item["tokens"]["N"])
        stamped = Decimal(item["refilled_at"]["N"])
        version = int(item["version"]["N"])
        elapsed = max(Decimal(0), now - stamped)
        # A clock behind the last writer's never moves the stamp back (that would mint tokens).
        return min(self.capacity, stored + elapsed * self.rate), max(now, stamped), version

    def _floor(self, flow: str) -> Decimal:
        return Decimal(0) if flow in self.priority_flows else self.reserve

    # ---------------------------------------------------------------------------------- public

    def acquire(self, flow: str) -> None:
        """Take one token for `flow`, or raise `BudgetExhausted` (a `Throttled`) with the wait.

        Waits of at most `max_wait_seconds` in total are slept here rather than raised, for the priority flows
        only: a bulk flow never waits in a paid Lambda, its step goes back to its queue with the delay.
        """
        floor = self._floor(flow)
        max_wait = self.max_wait_seconds if flow in self.priority_flows else 0.0
        waited = 0.0
        conflicts = 0
        while True:
            item = self._read()
            now = self._now()
            tokens, stamp, version = self._level(item, now)
            if tokens - 1 >= floor:
                if self._take(tokens - 1, stamp, version, flow):
                    count_once(ERP_TOKENS_TAKEN, {"application": self.application})
                    return
                conflicts += 1
                if conflicts >= self.max_conflicts:
                    raise BudgetExhausted(
                        f"rate budget {self.application}: {conflicts} lost races in a row for flow {flow}",
                        system=SYSTEM,
                        retry_after_seconds=float(1 / self.rate),
                    )
                continue
            wait = float((floor + 1 - tokens) / self.rate)
            if waited + wait <= max_wait:
                self._sleep(wait)
                waited += wait
                continue
            count_once(ERP_BUDGET_EXHAUSTED, {"application": self.application})
            raise BudgetExhausted(
                f"rate budget {self.application}: no token for flow {flow} for {wait:.1f} s",
                system=SYSTEM,
                retry_after_seconds=wait,
            )

    def _take(self, tokens: Decimal, stamp: Decimal, version: int | None, flow: str) -> bool:
        names = {
            "#tokens": "tokens",
            "#stamp": "refilled_at",
            "#version": "version",
            "#capacity": "capacity",
            "#rate": "rate_per_second",
            "#calls": f"calls_{flow}",
        }
        values: dict[str, Any] = {
            ":tokens": _num(tokens),
            ":stamp": _num(stamp),
            ":next": {"N": str((version or 0) + 1)},
            ":capacity": _num(self.capacity),
            ":rate": _num(self.rate),
            ":one": {"N": "1"},
        }
        if version is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "#version = :expected"
            values[":expected"] = {"N": str(version)}
        try:
            self.db.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": self.key}},
                UpdateExpression=(
                    "SET #tokens = :tokens, #stamp = :stamp, #version = :next, #capacity = :capacity, "
                    "#rate = :rate ADD #calls :one"
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise Transient(f"rate budget: write failed: {type(err).__name__}", system=SYSTEM) from err
        except BotoCoreError as err:
            raise Transient(f"rate budget: write failed: {type(err).__name__}", system=SYSTEM) from err
        return True

    def penalise(self, cooldown_seconds: float = 0.0) -> None:
        """The ERP answered "throttled": empty the bucket (and, with a cooldown, go that far below zero),
        so every worker's next token comes only after the refill."""
        now = self._now()
        tokens = -Decimal(repr(cooldown_seconds)) * self.rate
        try:
            self.db.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": self.key}},
                UpdateExpression=(
                    "SET #tokens = :tokens, #stamp = :stamp, #version = if_not_exists(#version, :zero) + :one, "
                    "#capacity = :capacity, #rate = :rate ADD #penalties :one"
                ),
                ExpressionAttributeNames={
                    "#tokens": "tokens",
                    "#stamp": "refilled_at",
                    "#version": "version",
                    "#capacity": "capacity",
                    "#rate": "rate_per_second",
                    "#penalties": "penalties",
                },
                ExpressionAttributeValues={
                    ":tokens": _num(tokens),
                    ":stamp": _num(now),
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":capacity": _num(self.capacity),
                    ":rate": _num(self.rate),
                },
            )
        except (ClientError, BotoCoreError) as err:
            raise Transient(f"rate budget: penalise failed: {type(err).__name__}", system=SYSTEM) from err

    def state(self) -> BudgetState:
        """Tokens available now, and the calls counted per flow on the item (for metrics and tests)."""
        item = self._read()
        tokens, _, _ = self._level(item, self._now())
        calls = {
            k.removeprefix("calls_"): int(v["N"]) for k, v in (item or {}).items() if k.startswith("calls_")
        }
        penalties = int((item or {}).get("penalties", {}).get("N", "0"))
        return BudgetState(tokens=tokens, calls_by_flow=calls, penalties=penalties)
