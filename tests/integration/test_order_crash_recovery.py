"""Exactly once across crashes and lost answers (DESIGN §6), over real HTTP: `OrderSync` runs as the Lambda
would (the real Oro and Cin7 adapters against the sandboxes, the real state store on the embedded AWS
endpoint), dies or loses an answer at a chosen point, and the redelivered message finishes the job with
exactly one Cin7 sale whose lines were added once.

The service's own runtime never hears of these orders (Oro's notifications are dropped for the module), so
each test decides when the flow runs and with which clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.aws.rate_budget import RateBudget
from shared.adapters.aws.state import LeaseHeld, StateStore
from shared.adapters.cin7.client import Cin7Client
from shared.adapters.cin7.erp import Cin7Erp
from shared.adapters.http import OutcomeUnknown
from shared.adapters.orocommerce.client import OroClient
from shared.adapters.orocommerce.storefront import OroStorefront
from shared.errors import Transient
from shared.flows.order_sync import OrderSync
from shared.resources import table
from tests.fixtures.order_env import OrderWorld, order_world

D = Decimal
LEASE_SECONDS = 90
LINES = [("WID-100", "case", 2, "144.00"), ("BOLT-300", "each", 40, "0.25")]
EXPECTED_LINES = {"WID-100": (D(24), D("12.0000"), D("316.80")), "BOLT-300": (D(40), D("0.2500"), D("11.00"))}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    with order_world(tmp_path_factory.mktemp("order-crash"), aws_server) as w:
        w.oro_ctl("POST", "faults", {"webhook_drop_rate": 1})
        yield w


class ProcessKilled(BaseException):
    """The Lambda's process is gone (timeout, out of memory, kill -9): no handler, no `finally` of ours."""


class DyingStore:
    """The real state store, in a process that is killed just before it records step `kill_at`.

    After that it writes nothing more: not the step, not the lease release in `OrderSync.run`'s `finally`,
    not a timeline event, as a dead process would not."""

    def __init__(self, store: StateStore, kill_at: str) -> None:
        self._store = store
        self.kill_at = kill_at
        self.dead = False

    def record_step(self, order_id: str, step: str, **kwargs: Any) -> None:
        if step == self.kill_at and not self.dead:
            self.dead = True
            raise ProcessKilled(f"killed before recording {step!r} for order {order_id}")
        self._alive()
        self._store.record_step(order_id, step, **kwargs)

    def _alive(self) -> None:
        if self.dead:
            raise ProcessKilled("a dead process writes nothing")

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._alive()
            return attr(*args, **kwargs)

        return call


class TickingClock:
    """Starts at the real time and moves 1 ms per reading (so timeline events keep their order); `advance`
    jumps ahead, as the time between a crash and SQS's redelivery does."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC)

    def now(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class Worker:
    """What `shared.runtime.Runtime` builds for order_sync: config, storefront, ERP behind its rate budget."""

    def __init__(self, world: OrderWorld) -> None:
        env = world.env
        config = env.config
        self.config = config
        self.storefront = OroStorefront(OroClient.from_config(config.endpoints.oro, **env.oro_credentials))
        budget = RateBudget.for_flow(config, "orders", table_name=env.env[table("rate_budget").env_var])
        client = Cin7Client.from_config(
            config.endpoints.cin7,
            env.cin7_credentials["account_id"],
            env.cin7_credentials["application_key"],
            budget=budget,
        )
        self.erp = Cin7Erp(client.for_flow("orders"), sale_type=config.erp.sale_type)
        self.clock = TickingClock()

    def sync(self, store: Any) -> OrderSync:
        return OrderSync(
            self.config, self.storefront, self.erp, store, self.clock, lease_seconds=LEASE_SECONDS
        )


@pytest.fixture
def worker(world: OrderWorld) -> Iterator[Worker]:
    w = Worker(world)
    yield w
    w.storefront.client.close()
    w.erp.client.close()


def _lines(sale: Any) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {ln.SKU: (ln.Quantity, ln.Price, ln.Total) for ln in (sale.Order.Lines if sale.Order else [])}


def _calls(world: OrderWorld) -> dict[str, int]:
    return dict(world.cin7_stats()["calls"])


def _assert_one_sale_with_its_lines_once(world: OrderWorld, order_id: str, before: dict[str, int]) -> Any:
    sale = world.the_sale(order_id)
    assert sale.Order.Status == "AUTHORISED"
    assert _lines(sale) == EXPECTED_LINES  # each line once: Cin7 refuses a repeated product in one order
    assert len(sale.Order.Lines) == len(EXPECTED_LINES)
    stats = world.cin7_stats()
    assert stats["sales_by_external_id"][world.external_id(order_id)] == 1
    assert world.external_id(order_id) not in stats["duplicate_external_ids"]
    after = stats["calls"]
    # neither the header nor the lines were ever sent twice
    assert after.get("POST /sale", 0) - before.get("POST /sale", 0) == 1
    assert after.get("POST /sale/order", 0) - before.get("POST /sale/order", 0) == 1
    state = world.state.get_order(order_id)
    assert (state.status, state.step, state.sale_id) == ("synced", "lines_done", sale.ID)
    return sale


@pytest.mark.parametrize(
    ("kill_at", "step_left", "adoption", "recovery_erp_calls"),
    [
        # POST /sale answered, the process dies before recording it: the retry finds the header by
        # ExternalID (saleList + sale) and adds the lines (sale/order)
        pytest.param("lines_pending", "header_pending", "erp_sale_adopted", 3, id="after-POST-sale"),
        # POST /sale/order answered too, the process dies before recording it: the retry finds the sale
        # with its lines (saleList + sale) and sends nothing
        pytest.param("lines_done", "lines_pending", "erp_lines_adopted", 2, id="after-POST-sale-order"),
    ],
)
def test_one_sale_with_its_lines_once_when_the_worker_dies_after_a_create_and_the_message_is_redelivered(
    world: OrderWorld, worker: Worker, kill_at: str, step_left: str, adoption: str, recovery_erp_calls: int
):
    order_id = world.place("Acme Holdings", LINES)
    before = _calls(world)

    dying = DyingStore(world.state, kill_at)
    with pytest.raises(ProcessKilled):
        worker.sync(dying).run(order_id)

    # what the dead worker left: the step before the one it never recorded, and its lease
    state = world.state.get_order(order_id)
    assert state.step == step_left
    (crashed,) = world.sales(order_id)
    assert _lines(crashed) == ({} if kill_at == "lines_pending" else EXPECTED_LINES)
    # SQS redelivers as soon as the visibility timeout ends; the dead worker's lease still stands
    with pytest.raises(LeaseHeld):
        worker.sync(world.state).run(order_id)

    worker.clock.advance(LEASE_SECONDS + 1)
    result = worker.sync(world.state).run(order_id)

    sale = _assert_one_sale_with_its_lines_once(world, order_id, before)
    assert (result.outcome, result.sale_id) == ("synced", sale.ID)
    assert result.erp_calls == recovery_erp_calls
    kinds = world.kinds(order_id)
    assert kinds.count("erp_sale_created") == 1
    assert kinds.count(adoption) == 1
    assert kinds.count("erp_lines_added") == 1
    assert kinds[-2:] == ["bound", "processed"]
    adopted = next(e for e in world.timeline(order_id) if e["kind"] == adoption)
    assert adopted["sale_id"] == sale.ID
    if adoption == "erp_sale_adopted":
        assert adopted["has_lines"] is False


@pytest.mark.parametrize(
    ("path", "step_left", "adoption", "recovery_erp_calls"),
    [
        pytest.param("^/sale$", "header_pending", "erp_sale_adopted", 3, id="POST-sale"),
        pytest.param("^/sale/order$", "lines_pending", "erp_lines_adopted", 2, id="POST-sale-order"),
    ],
)
def test_first_run_raises_outcome_unknown_and_the_retry_adopts_when_a_create_answer_is_dropped_after_commit(
    world: OrderWorld, worker: Worker, path: str, step_left: str, adoption: str, recovery_erp_calls: int
):
    order_id = world.place("Acme Holdings", LINES)
    before = _calls(world)
    rule = world.cin7_ctl(
        "POST", "faults", {"method": "POST", "path": path, "drop_after_commit_rate": 1, "drop_mode": "close"}
    )["rules"][0]
    try:
        with pytest.raises(OutcomeUnknown) as raised:
            worker.sync(world.state).run(order_id)
    finally:
        world.cin7_ctl("DELETE", "faults", params={"id": rule["id"]})
    assert isinstance(raised.value, Transient)  # the message goes back to the queue, not to a named exception
    assert world.cin7_stats()["dropped_after_commit"] >= 1

    state = world.state.get_order(order_id)
    assert state.step == step_left
    assert len(world.sales(order_id)) == 1  # the create landed although nobody heard the answer

    # the failed run released its lease: the redelivery runs at once
    result = worker.sync(world.state).run(order_id)

    sale = _assert_one_sale_with_its_lines_once(world, order_id, before)
    assert (result.outcome, result.sale_id) == ("synced", sale.ID)
    assert result.erp_calls == recovery_erp_calls
    kinds = world.kinds(order_id)
    assert kinds.count(adoption) == 1
    assert kinds.count("erp_sale_created") == (1 if adoption == "erp_lines_adopted" else 0)


def test_sale_left_by_a_dead_worker_is_voided_when_the_order_is_cancelled_before_the_redelivery(
    world: OrderWorld, worker: Worker
):
    order_id = world.place("Acme Holdings", LINES)
    with pytest.raises(ProcessKilled):
        worker.sync(DyingStore(world.state, "lines_pending")).run(order_id)
    (left,) = world.sales(order_id)  # the header the dead worker created, never recorded

    world.set_status(order_id, "cancelled")
    worker.clock.advance(LEASE_SECONDS + 1)
    result = worker.sync(world.state).run(order_id)

    sales = world.sales(order_id)
    assert [s.ID for s in sales] == [left.ID]
    assert sales[0].Status == "VOIDED", f"outcome {result.outcome!r}: {result.reasons}"
    assert world.state.get_order(order_id).status == "voided"


def test_adopted_draft_lines_are_authorised_when_the_order_was_confirmed_before_the_redelivery(
    world: OrderWorld, worker: Worker
):
    # A pending order's DRAFT lines land, the worker dies before recording them; meanwhile the order is
    # confirmed. The redelivery adopts the DRAFT sale and authorises it, instead of recording it as synced.
    with world.new_orders_status("pending"):
        order_id = world.place("Acme Holdings", LINES)
    with pytest.raises(ProcessKilled):
        worker.sync(DyingStore(world.state, "lines_done")).run(order_id)
    assert world.the_sale(order_id).Order.Status == "DRAFT"

    world.set_status(order_id, "open")
    worker.clock.advance(LEASE_SECONDS + 1)
    result = worker.sync(world.state).run(order_id)

    (sale,) = world.sales(order_id)
    assert (result.outcome, sale.Order.Status) == ("synced", "AUTHORISED")
    assert _lines(sale) == EXPECTED_LINES
    state = world.state.get_order(order_id)
    assert (state.status, state.erp_status, state.step) == ("synced", "AUTHORISED", "lines_done")
    kinds = world.kinds(order_id)
    assert kinds.count("erp_lines_adopted") == 1 and kinds.count("authorised") == 1


class DiesAfterLinesDone(DyingStore):
    """The real store in a process that dies just after its `lines_done` step was written: whatever the flow
    meant to record about the sale separately from that step never lands."""

    def record_step(self, order_id: str, step: str, **kwargs: Any) -> None:
        self._alive()
        self._store.record_step(order_id, step, **kwargs)
        if step == "lines_done":
            self.dead = True


def test_a_confirmed_order_never_stays_draft_when_the_worker_dies_right_after_recording_its_lines(
    world: OrderWorld, worker: Worker
):
    # The DRAFT lines of a pending order land and their step is recorded; the worker dies before anything
    # else. Then the order is confirmed. The step carried the binding, so the redelivery authorises the sale.
    with world.new_orders_status("pending"):
        order_id = world.place("Acme Holdings", LINES)
    dying = DiesAfterLinesDone(world.state, "lines_done")
    with pytest.raises(ProcessKilled):
        worker.sync(dying).run(order_id)
    state = world.state.get_order(order_id)
    assert (state.step, state.status, state.erp_status) == ("lines_done", "draft", "DRAFT")

    world.set_status(order_id, "open")
    worker.clock.advance(LEASE_SECONDS + 1)
    result = worker.sync(world.state).run(order_id)

    (sale,) = world.sales(order_id)
    assert (result.outcome, sale.Order.Status) == ("synced", "AUTHORISED")
    assert _lines(sale) == EXPECTED_LINES
    assert world.exceptions(order_id) == {}  # no false ORDER_CHANGED_AFTER_SYNC
    state = world.state.get_order(order_id)
    assert (state.status, state.erp_status, state.sale_id) == ("synced", "AUTHORISED", sale.ID)
