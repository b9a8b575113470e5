"""The ERP rate budget against DynamoDB on the embedded AWS endpoint (moto server over HTTP), and the Cin7
client spending it against the Cin7 sandbox. Time is a fake clock: assertions count tokens, never seconds."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.aws import EmbeddedAws
from sandbox.cin7.server import Cin7Sandbox
from shared.adapters.aws.rate_budget import BudgetExhausted, RateBudget
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.http import RetryPolicy
from shared.errors import Throttled
from shared.resources import table


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


@pytest.fixture
def budget_table(aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = table("rate_budget")
    name = "orosync-test-rate-budget"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": spec.partition_key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": spec.partition_key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv(spec.env_var, name)
    return name


def _budget(clock: FakeClock, **kwargs: Any) -> RateBudget:
    kwargs.setdefault("calls_per_minute", 60)
    kwargs.setdefault("burst", 10)
    kwargs.setdefault("max_wait_seconds", 0.0)
    return RateBudget(kwargs.pop("application", "orders"), clock=clock, sleep=clock.sleep, **kwargs)


def test_n_calls_take_n_tokens(budget_table: str):
    clock = FakeClock()
    budget = _budget(clock)
    for _ in range(4):
        budget.acquire("orders")
    state = budget.state()
    assert state.tokens == Decimal(6) and state.calls_by_flow == {"orders": 4}


def test_the_bucket_refuses_beyond_burst_with_the_time_until_a_token(budget_table: str):
    clock = FakeClock()
    budget = _budget(clock, burst=5, calls_per_minute=30)  # one token every 2 s
    for _ in range(5):
        budget.acquire("orders")
    with pytest.raises(Throttled) as caught:
        budget.acquire("orders")
    assert isinstance(caught.value, BudgetExhausted) and caught.value.retry_after_seconds == pytest.approx(
        2.0
    )
    clock.now += 2.0  # the refill is computed from elapsed time
    budget.acquire("orders")
    assert budget.state().calls_by_flow == {"orders": 6} and clock.slept == []


def test_a_short_wait_is_slept_instead_of_raised(budget_table: str):
    clock = FakeClock()
    budget = _budget(clock, burst=1, max_wait_seconds=2.0)
    budget.acquire("orders")
    budget.acquire("orders")  # 1 s until the next token: within max_wait, so it waits
    assert clock.slept == [pytest.approx(1.0)] and budget.state().calls_by_flow == {"orders": 2}


def test_bulk_flows_stop_at_the_reserve_while_orders_continue(budget_table: str):
    clock = FakeClock()
    budget = _budget(clock, burst=10, reserve=4)
    taken_by_stock = 0
    with pytest.raises(Throttled) as caught:
        while True:
            budget.acquire("stock")
            taken_by_stock += 1
    assert taken_by_stock == 6 and caught.value.retry_after_seconds == pytest.approx(1.0)
    for _ in range(4):
        budget.acquire("orders")
    with pytest.raises(Throttled):
        budget.acquire("fulfilment")
    with pytest.raises(Throttled) as bulk:
        budget.acquire("prices")
    assert bulk.value.retry_after_seconds == pytest.approx(5.0)  # back above the reserve in 5 tokens
    assert budget.state().calls_by_flow == {"stock": 6, "orders": 4}


def test_a_bulk_flow_never_waits_for_a_token_it_gives_its_work_back_at_once(budget_table: str):
    clock = FakeClock()
    budget = _budget(clock, burst=3, reserve=1, max_wait_seconds=30.0)
    budget.acquire("stock")
    budget.acquire("stock")
    with pytest.raises(BudgetExhausted) as caught:
        budget.acquire("stock")  # a token is a second away: an order would wait for it, a stock step does not
    assert clock.slept == [] and caught.value.retry_after_seconds == pytest.approx(1.0)
    budget.acquire("orders")  # the order waits nothing either: a token is left above the reserve
    budget.acquire("orders")  # the next one is a second away: within max_wait, so an order sleeps for it
    assert clock.slept == [pytest.approx(1.0)]


def test_penalise_empties_the_bucket_for_every_worker(budget_table: str):
    clock = FakeClock()
    worker_a, worker_b = _budget(clock), _budget(clock)
    worker_a.acquire("orders")
    worker_a.penalise()
    state = worker_b.state()
    assert state.tokens == 0 and state.penalties == 1
    with pytest.raises(Throttled) as caught:
        worker_b.acquire("orders")
    assert caught.value.retry_after_seconds == pytest.approx(1.0)
    worker_a.penalise(cooldown_seconds=5)
    clock.now += 5
    assert worker_b.state().tokens == 0  # the cooldown went 5 tokens below zero


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real DynamoDB checks a condition and writes an item atomically; moto's server runs each request in its
    own thread with no lock, so two conditional writes can interleave there. Serialise moto's item
    operations (in this process, where the embedded server runs) to give it back DynamoDB's guarantee."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("get_item", "put_item", "update_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def test_a_taker_that_loses_the_race_reads_again_and_never_overspends(budget_table: str):
    clock = FakeClock()
    winner = _budget(clock, burst=1)

    class Interleaved(RateBudget):
        """Reads the bucket, then lets `winner` take the last token before writing its own take."""

        raced = False

        def _read(self) -> dict[str, Any] | None:
            item = super()._read()
            if not Interleaved.raced:
                Interleaved.raced = True
                winner.acquire("orders")
            return item

    loser = Interleaved(
        "orders", calls_per_minute=60, burst=1, max_wait_seconds=0, clock=clock, sleep=clock.sleep
    )
    with pytest.raises(BudgetExhausted):
        loser.acquire("orders")  # its write was refused (stale version); the re-read finds the bucket empty
    state = loser.state()
    assert state.tokens == 0 and state.calls_by_flow == {"orders": 1}


def test_concurrent_takers_never_overspend(budget_table: str, atomic_moto: None):
    clock = FakeClock()  # frozen: no refill, so exactly `burst` tokens exist
    burst, threads, tries = 20, 6, 8
    results: list[str] = []
    lost_races: list[int] = []
    lock = threading.Lock()

    class Counting(RateBudget):
        def _take(self, *args: Any) -> bool:
            won = super()._take(*args)
            if not won:
                with lock:
                    lost_races.append(1)
            return won

    def worker() -> None:
        budget = Counting(
            "orders", burst=burst, max_wait_seconds=0, max_conflicts=1000, clock=clock, sleep=clock.sleep
        )
        for _ in range(tries):
            try:
                budget.acquire("orders")
                outcome = "taken"
            except BudgetExhausted:
                outcome = "refused"
            with lock:
                results.append(outcome)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert len(results) == threads * tries
    assert results.count("taken") == burst
    assert lost_races  # the takers really did collide, and each lost race was read again
    state = _budget(clock).state()
    assert state.tokens == 0 and state.calls_by_flow == {"orders": burst}


def test_the_cin7_client_takes_a_token_per_request_and_counts_calls_per_flow(
    budget_table: str, cin7_sandbox: Cin7Sandbox
):
    clock = FakeClock()
    budget = _budget(clock, burst=50, reserve=5, max_wait_seconds=2.0)
    orders = Cin7Client(
        cin7_sandbox.account_id,
        cin7_sandbox.application_key,
        base_url=cin7_sandbox.base_url,
        budget=budget,
        flow="orders",
        retry=RetryPolicy(attempts=4, base_delay=0.0),
        sleep=clock.sleep,
    )
    stock = orders.for_flow("stock")
    with orders:
        orders.request("GET", "me")
        orders.price_tiers()
        stock.tax_rules()
        list(stock.iter_availability())
        orders.tax_rules()
    assert orders.calls_by_flow == {"orders": 3, "stock": 2} == stock.calls_by_flow
    state = budget.state()
    assert state.calls_by_flow == {"orders": 3, "stock": 2} and state.tokens == Decimal(45)
    assert cin7_sandbox.stats()["calls_by_application"][cin7_sandbox.application_key] == 5


def test_a_throttle_from_cin7_penalises_the_budget_and_the_retry_waits_for_a_token(
    budget_table: str, cin7_sandbox: Cin7Sandbox
):
    cin7_sandbox.add_faults(
        {"method": "GET", "path": "^/me$", "throttle_burst": {"every_n_calls": 2, "length": 1}}
    )
    clock = FakeClock()
    budget = _budget(clock, burst=10, max_wait_seconds=2.0)
    client = Cin7Client(
        cin7_sandbox.account_id,
        cin7_sandbox.application_key,
        base_url=cin7_sandbox.base_url,
        budget=budget,
        retry=RetryPolicy(attempts=3, base_delay=0.0),
        sleep=clock.sleep,
    )
    with client:
        client.request("GET", "me")  # 1st: ok
        client.request("GET", "me")  # 2nd: throttled by Cin7 → penalise → wait for a token → 3rd: ok
    state = budget.state()
    assert state.penalties == 1 and state.calls_by_flow == {"orders": 3} and client.calls == 3
    assert cin7_sandbox.stats()["throttled_by_fault"] == 1
    assert clock.slept[-1] == pytest.approx(1.0)  # the budget's wait for the first token after the penalty
