"""End to end on one laptop: an order placed in the Oro sandbox becomes exactly one Cin7 sandbox sale,
through the signed webhook, the orders queue and order_sync, all over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from local.demo import DEMO_ORDERS, DemoOrder, check_order
from local.environment import LocalEnvironment
from shared.config import load_config

CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


@pytest.fixture(scope="module")
def env(tmp_path_factory, aws_server) -> Iterator[LocalEnvironment]:
    environment = LocalEnvironment(
        load_config(CONFIG), tmp_path_factory.mktemp("e2e"), run_schedules=False, aws=aws_server
    )
    with environment:
        environment.seed()
        yield environment


def _place(env: LocalEnvironment, order: DemoOrder) -> str:
    return env.place_order(order.customer, [(ln.sku, ln.unit, ln.quantity, ln.price) for ln in order.lines])


def test_order_becomes_one_sale_on_the_parent_account_in_base_units_when_placed_by_a_grandchild(env):
    order = DEMO_ORDERS[0]
    oro_id = _place(env, order)
    env.wait_until_settled(60)
    report = check_order(env, order, oro_id)
    assert report.ok, report.problems
    assert report.sale.Customer == "Acme Holdings"
    lines = {ln.SKU: (ln.Quantity, ln.Price, ln.Total) for ln in report.sale.Order.Lines}
    # 2 cases of 12 at 144.00 → 24 units at 12.0000; 10% tax on 288.00
    assert lines["WID-100"] == (Decimal(24), Decimal("12.0000"), Decimal("316.80"))
    # first order of the run: the ERP customer and tax rules are looked up once, then cached
    assert report.erp_calls == 4


def test_steady_state_order_costs_exactly_two_erp_calls_when_lookups_are_cached(env):
    order = DEMO_ORDERS[1]
    oro_id = _place(env, order)
    env.wait_until_settled(60)
    report = check_order(env, order, oro_id)
    assert report.ok, report.problems
    assert report.erp_calls == 2
    assert [e["kind"] for e in report.timeline] == [
        "gated",
        "erp_sale_created",
        "erp_lines_added",
        "bound",
        "processed",
    ]


def test_poll_after_webhook_creates_no_second_sale_when_the_order_version_was_already_taken_in(env):
    order = DEMO_ORDERS[1]
    oro_id = _place(env, order)
    env.wait_until_settled(60)
    result = env.runtime.fire("order_poll")
    assert result["seen"] >= 1 and result["enqueued"] == 0
    env.wait_until_settled(60)
    report = check_order(env, order, oro_id)
    assert report.ok, report.problems  # exactly one sale with this ExternalID
    assert [e["kind"] for e in report.timeline].count("erp_sale_created") == 1
