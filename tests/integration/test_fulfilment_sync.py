"""Fulfilment back to the storefront (issue 12), through the running service over HTTP: what Cin7 ships,
invoices and is paid reaches the Oro order, by Cin7's sale webhooks or by the poll behind them.

The world is the seeded local environment with `fulfilment.enabled`, its sale webhooks registered (what
`orosync webhooks ensure` does) and external statuses mapped. Cin7's first webhook try comes a retry unit
(a second, locally) after the change: `quiet` waits for it and for the work it queued.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cli.main import main as orosync
from local.aws import EmbeddedAws
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.cin7.webhook import SALE_ROUTE, SECRET_HEADER
from shared.flows.fulfilment import FulfilmentFlow, FulfilmentWork
from shared.flows.intake import SALE
from shared.resources import queue
from shared.runtime import SystemClock
from tests.fixtures.order_env import OrderWorld, order_config, order_world

EXTERNAL = {"shipped": "shipped", "invoiced": "processing", "paid": "closed", "cancelled": "cancelled"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("fulfilment")
    config = order_config(workdir, **{"fulfilment.enabled": True, "fulfilment.external_status": EXTERNAL})
    with order_world(workdir, aws_server, config) as w:
        w.oro_ctl("POST", "config", {"external_status_management": True})
        yield w


def quiet(world: OrderWorld) -> None:
    """Cin7 has delivered every webhook it owes and the service has worked off what they queued."""
    world.env.wait_for_cin7_webhooks(20)
    world.settle()


def synced(world: OrderWorld, customer: str, lines: list[Any]) -> tuple[str, str]:
    """An order placed in Oro and created in Cin7 by the service: (Oro order id, Cin7 sale id)."""
    order = world.place(customer, lines)
    quiet(world)
    state = world.state.get_order(order)
    assert state.status == "synced" and state.sale_id, state
    return order, state.sale_id


def trackings(world: OrderWorld, order: str) -> list[tuple[str, str]]:
    return sorted((t.number, t.method or "") for t in world.oro.list_shipping_trackings(order))


def oro_status(world: OrderWorld, order: str) -> tuple[str | None, str | None]:
    """(shippingStatus, external status) of the Oro order."""
    rels = world.get_order(order)["relationships"]
    ship = (rels.get("shippingStatus") or {}).get("data") or {}
    status = (rels.get("status") or {}).get("data") or {}
    return ship.get("id"), status.get("id")


def flow(world: OrderWorld, clock: Any = None) -> FulfilmentFlow:
    """The flow as fulfilment_sync runs it, on the service's state and queue (clients of the sandboxes)."""
    return FulfilmentFlow(
        world.env.config,
        world.state,
        SqsQueue(world.env.env[queue("fulfilment").env_var]),
        clock or SystemClock(),
        erp=world.cin7,
        oro=world.oro,
    )


def cin7_reads(world: OrderWorld) -> int:
    calls = world.cin7_stats()["calls"]
    return int(calls.get("GET /sale", 0)) + int(calls.get("GET /saleList", 0))


def post_sale_webhook(world: OrderWorld, body: Any, secret: str | None) -> httpx.Response:
    assert world.env.runtime is not None
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{world.env.runtime.base_url}{SALE_ROUTE}", content=raw, headers=headers)


# -- shipments ------------------------------------------------------------------------------------------------


def test_a_shipment_reaches_the_oro_order_with_its_tracking_number_by_webhook(world: OrderWorld) -> None:
    order, sale = synced(world, "Acme Holdings", [("WID-100", "case", 2, Decimal("120.00"))])
    assert oro_status(world, order)[0] == "not_shipped"
    world.ship(sale, tracking="1Z999AA10123456784", carrier="UPS")
    quiet(world)
    assert trackings(world, order) == [("1Z999AA10123456784", "UPS")]
    assert oro_status(world, order) == ("shipped", "shipped")
    kinds = world.kinds(order)
    assert kinds.count("tracking_added") == 1 and kinds.count("shipped") == 1


def test_partial_shipments_of_cases_and_eaches_of_one_sku_move_the_status_line_by_line(
    world: OrderWorld,
) -> None:
    # 2 cases of 12 and 5 each of WID-100: 29 WID-100 in Cin7
    order, sale = synced(
        world,
        "Acme Holdings",
        [("WID-100", "case", 2, Decimal("120.00")), ("WID-100", "each", 5, Decimal("12.50"))],
    )
    world.ship(sale, {"WID-100": 12}, tracking="PART-1")  # one case
    quiet(world)
    assert oro_status(world, order)[0] == "partially_shipped"
    event = [e for e in world.timeline(order) if e["kind"] == "partially_shipped"][-1]
    assert sorted(event["shipped_per_line"].values()) == ["0.0000", "1.0000"]  # 1 of 2 cases, 0 of 5 each
    assert oro_status(world, order)[1] is None or oro_status(world, order)[1] != "shipped"

    world.ship(sale, {"WID-100": 17}, tracking="PART-2")  # the other case and the 5 each
    quiet(world)
    assert oro_status(world, order)[0] == "shipped"
    assert [n for n, _ in trackings(world, order)] == ["PART-1", "PART-2"]
    event = [e for e in world.timeline(order) if e["kind"] == "shipped"][-1]
    assert sorted(event["shipped_per_line"].values()) == ["2.0000", "5.0000"]


def test_a_tracking_number_changed_in_cin7_replaces_the_one_on_the_oro_order(world: OrderWorld) -> None:
    order, sale = synced(world, "Acme Holdings", [("BOLT-300", "each", 40, Decimal("0.40"))])
    task = world.ship(sale, tracking="OLD-111", carrier="DHL")
    quiet(world)
    assert trackings(world, order) == [("OLD-111", "DHL")]
    world.change_tracking(task, "NEW-222", carrier="DHL")
    quiet(world)
    assert trackings(world, order) == [("NEW-222", "DHL")]
    assert "tracking_replaced" in world.kinds(order)


def test_a_tracking_a_person_added_in_oro_is_left_alone(world: OrderWorld) -> None:
    order, sale = synced(world, "Acme Holdings", [("BOLT-300", "each", 10, Decimal("0.40"))])
    world.oro.add_shipping_tracking(order, "courier", "BY-HAND-1")
    task = world.ship(sale, tracking="AUTO-1")
    quiet(world)
    world.change_tracking(task, "AUTO-2")
    quiet(world)
    assert [n for n, _ in trackings(world, order)] == ["AUTO-2", "BY-HAND-1"]


# -- order to cash, repeated and out of order ------------------------------------------------------------


def test_invoice_and_payment_move_the_external_status_forward_only(world: OrderWorld) -> None:
    order, sale = synced(world, "Acme Holdings", [("WID-100", "each", 3, Decimal("12.50"))])
    world.ship(sale, tracking="CASH-1")
    quiet(world)
    world.invoice(sale)
    quiet(world)
    assert oro_status(world, order) == ("shipped", "processing")
    world.pay(sale)
    quiet(world)
    assert oro_status(world, order) == ("shipped", "closed")

    # the shipment's event again, late, and repeated: one Cin7 read each, nothing moves back or twice
    the_sale = world.cin7.get_sale(sale)
    assert the_sale.Order is not None
    number = the_sale.Order.SaleOrderNumber
    events_before = len(world.timeline(order))
    reads_before = cin7_reads(world)
    late = {"SaleTaskID": sale, "OrderNumber": number, "EventType": "Sale/ShipmentAuthorised"}
    for _ in range(3):
        answer = post_sale_webhook(world, late, world.env.cin7_webhook_secret)
        assert answer.status_code == 202, answer.text
        quiet(world)
    assert oro_status(world, order) == ("shipped", "closed")
    assert trackings(world, order) == [("CASH-1", "DHL")]
    assert len(world.timeline(order)) == events_before
    assert cin7_reads(world) - reads_before == 3  # one re-read of the sale per event
    kinds = world.kinds(order)
    assert [kinds.count(k) for k in ("shipped", "invoiced", "paid")] == [1, 1, 1]


def test_a_stale_sale_step_applies_nothing_and_costs_one_read(world: OrderWorld) -> None:
    order, sale = synced(world, "Acme Holdings", [("WID-100", "each", 1, Decimal("12.50"))])
    world.ship(sale, tracking="STALE-1")
    quiet(world)
    reads = cin7_reads(world)
    done = flow(world).sale(FulfilmentWork(kind=SALE, sale_id=sale, source="poll"))
    assert (done.action, done.changes) == ("unchanged", [])
    assert cin7_reads(world) - reads == 1


# -- sales the service does not own, voids ---------------------------------------------------------------


def test_a_sale_made_in_cin7_itself_is_ignored_and_counted(world: OrderWorld) -> None:
    customer = world.cin7_customer("Acme Holdings")
    made = world.cin7.create_sale(
        {"CustomerID": customer, "ExternalID": f"someone-else-{uuid.uuid4().hex[:6]}"}
    )
    done = flow(world).sale(FulfilmentWork(kind=SALE, sale_id=made.ID, source="webhook"))
    assert done.action == "ignored" and "did not create" in done.detail
    # and one whose ExternalID looks like ours but is not the order's sale
    prefix = world.env.config.orders.external_id_prefix
    lookalike = world.cin7.create_sale({"CustomerID": customer, "ExternalID": f"{prefix}999999"})
    assert flow(world).sale(FulfilmentWork(kind=SALE, sale_id=lookalike.ID)).action == "ignored"
    result = flow(world).scan()
    assert result["foreign"] >= 2


def test_a_sale_voided_in_cin7_while_the_oro_order_is_open_is_a_named_exception(world: OrderWorld) -> None:
    order, sale = synced(world, "Acme Holdings", [("WID-100", "each", 2, Decimal("12.50"))])
    world.cin7.void_sale(sale)
    quiet(world)
    assert "ORDER_VOIDED_IN_ERP" in world.exceptions(order)
    assert "voided_in_erp" in world.kinds(order)
    assert oro_status(world, order)[1] == "cancelled"
    post_sale_webhook(world, {"SaleID": sale, "EventType": "Sale/Voided"}, world.env.cin7_webhook_secret)
    quiet(world)
    assert world.kinds(order).count("voided_in_erp") == 1
    assert world.exceptions(order)["ORDER_VOIDED_IN_ERP"]["count"] == 1


# -- the route ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 300])
def test_a_sale_webhook_without_the_right_secret_is_refused_and_nothing_is_read(
    world: OrderWorld, secret: str | None
) -> None:
    quiet(world)
    reads = cin7_reads(world)
    answer = post_sale_webhook(world, {"SaleID": str(uuid.uuid4()), "EventType": "Sale/Voided"}, secret)
    assert answer.status_code == 401
    assert world.env.runtime is not None and world.env.runtime.queue_depths()["fulfilment"] == 0
    assert cin7_reads(world) == reads


@pytest.mark.parametrize(
    "body, named",
    [
        (b"not json", "JSON"),
        (b"[]", "object"),
        (b'{"EventType": "Sale/Exploded", "SaleID": "x"}', "EventType"),
    ],
)
def test_a_bad_sale_webhook_body_is_named(world: OrderWorld, body: bytes, named: str) -> None:
    answer = post_sale_webhook(world, body, world.env.cin7_webhook_secret)
    assert answer.status_code == 400 and named in answer.text


# -- the poll behind the webhooks ---------------------------------------------------------------------------


class Later:
    """The flow's clock, `hours` ahead: a change the poll finds is then older than Cin7's retry schedule."""

    def __init__(self, hours: float) -> None:
        self.hours = hours

    def now(self) -> Any:
        return SystemClock().now() + timedelta(hours=self.hours)


def test_with_the_webhooks_off_the_poll_delivers_and_webhook_disabled_is_raised_then_cleared_by_ensure(
    world: OrderWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, aws = world.env.runtime, world.env.aws
    assert runtime is not None and aws is not None
    order, sale = synced(world, "Acme Holdings", [("GAD-200", "each", 4, Decimal("8.00"))])
    runtime.fire("fulfilment_poll")  # the watermark moves up to now
    world.env.wait_until_settled(60)
    for hook in world.cin7.list_webhooks():
        if hook.Type.startswith("Sale/"):
            world.cin7.update_webhook(hook.model_copy(update={"IsActive": False}))
    world.ship(sale, tracking="QUIET-1")
    time.sleep(1.5)  # the webhook would have come by now
    quiet(world)
    assert trackings(world, order) == []

    runtime.fire("fulfilment_poll")  # scan + webhook check
    world.env.wait_until_settled(60)
    assert trackings(world, order) == [("QUIET-1", "DHL")]
    assert oro_status(world, order)[0] == "shipped"
    disabled = [e for e in world.state.open_exceptions() if e["code"] == "WEBHOOK_DISABLED"]
    assert len(disabled) == 1 and "orosync webhooks ensure" in disabled[0]["detail"]

    code = orosync(
        [
            "webhooks",
            "ensure",
            "--config",
            str(world.env.config_path),
            "--url",
            runtime.base_url,
            "--aws-endpoint",
            aws.endpoint_url,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "Sale/ShipmentAuthorised" in out and "updated" in out
    runtime.fire("fulfilment_poll")
    world.env.wait_until_settled(60)
    assert not [e for e in world.state.open_exceptions() if e["code"] == "WEBHOOK_DISABLED"]


def test_a_change_no_webhook_brought_for_longer_than_cin7_retries_is_a_missed_webhook(
    world: OrderWorld,
) -> None:
    order, sale = synced(world, "Acme Holdings", [("BOLT-300", "case", 1, Decimal("40.00"))])
    for hook in world.cin7.list_webhooks():
        if hook.Type.startswith("Sale/"):
            world.cin7.update_webhook(hook.model_copy(update={"IsActive": False}))
    try:
        world.ship(sale, tracking="LATE-1")
        time.sleep(1.5)
        result = flow(world, Later(hours=2)).scan()
    finally:
        for hook in world.cin7.list_webhooks():
            if hook.Type.startswith("Sale/"):
                world.cin7.update_webhook(hook.model_copy(update={"IsActive": True}))
    assert result["missed"] >= 1 and result["queued"] >= 1
    detail = next(e for e in world.state.open_exceptions() if e["code"] == "WEBHOOK_DISABLED")["detail"]
    assert order in detail
    world.settle()
    assert trackings(world, order) == [("LATE-1", "DHL")]
    world.state.close_exception("WEBHOOK_DISABLED", "cin7:sale-webhooks", SystemClock().now(), "test over")


# -- the timeline ----------------------------------------------------------------------------------------


def test_orders_show_has_the_fulfilment_events(world: OrderWorld, capsys: pytest.CaptureFixture[str]) -> None:
    aws = world.env.aws
    assert aws is not None
    order, sale = synced(world, "Acme Holdings", [("WID-100", "each", 2, Decimal("12.50"))])
    world.ship(sale, tracking="SHOW-1", carrier="FedEx")
    quiet(world)
    capsys.readouterr()
    code = orosync(
        [
            "orders",
            "show",
            order,
            "--config",
            str(world.env.config_path),
            "--aws-endpoint",
            aws.endpoint_url,
            "--prefix",
            world.env.prefix,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "tracking_added" in out and "FedEx SHOW-1" in out
    assert "shipped per line" in out
