"""End to end on one laptop: an order placed in the Oro sandbox becomes exactly one Cin7 sandbox sale,
through the signed webhook, the orders queue and order_sync, all over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

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


def _erp_calls(env: LocalEnvironment, oro_id: str) -> list[int]:
    return [int(e["erp_calls"]) for e in env.state().timeline(oro_id) if e["kind"] == "processed"]


def test_order_becomes_one_sale_on_the_parent_account_in_base_units_when_placed_by_a_grandchild(env):
    oro_id = env.place_order("Acme East Store 12", [("WID-100", "case", Decimal(2), Decimal("144.00"))])
    env.wait_until_settled(60)
    sales = env.sales_for(oro_id)
    assert len(sales) == 1
    sale = sales[0]
    assert sale.Customer == "Acme Holdings"
    assert sale.Order.Status == "AUTHORISED"
    # 2 cases of 12 at 144.00 → 24 units at 12.0000; 10% tax on 288.00
    assert [(ln.SKU, ln.Quantity, ln.Price, ln.Total) for ln in sale.Order.Lines] == [
        ("WID-100", Decimal(24), Decimal("12.0000"), Decimal("316.80"))
    ]
    assert env.state().get_order(oro_id).status == "synced"
    # first order of the run: ERP customer, tax rules and the SKU's tier prices are looked up once, then cached
    assert _erp_calls(env, oro_id) == [5]


def test_steady_state_order_costs_exactly_two_erp_calls_when_lookups_are_cached(env):
    warm_up = env.place_order("Acme Holdings", [("WID-100", "each", Decimal(1), Decimal("12.00"))])
    env.wait_until_settled(60)
    assert len(env.sales_for(warm_up)) == 1
    oro_id = env.place_order("Acme Holdings", [("WID-100", "each", Decimal(10), Decimal("12.00"))])
    env.wait_until_settled(60)
    assert len(env.sales_for(oro_id)) == 1
    assert _erp_calls(env, oro_id) == [2]
    kinds = [e["kind"] for e in env.state().timeline(oro_id)]
    assert kinds == ["gated", "erp_sale_created", "erp_lines_added", "bound", "processed"]


def test_poll_after_webhook_creates_no_second_sale_when_the_order_version_was_already_taken_in(env):
    oro_id = env.place_order("Acme Holdings", [("WID-100", "each", Decimal(1), Decimal("12.00"))])
    env.wait_until_settled(60)
    result = env.runtime.fire("order_poll")
    assert result["seen"] >= 1 and result["enqueued"] == 0
    env.wait_until_settled(60)
    assert len(env.sales_for(oro_id)) == 1
    assert [e["kind"] for e in env.state().timeline(oro_id)].count("erp_sale_created") == 1
