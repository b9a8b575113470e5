"""Held and parked orders leave their hold the right way, over real HTTP through the whole local service:
a DRAFT sale kept for a customer on credit hold is authorised once finance clears the hold (by release, or
by the poll's re-check), a pending order confirmed while its customer is on hold says so, a cancelled held
order closes its exceptions, prices are held or passed per `pricing.authority`, and an order-level amount
with no ERP product configured is held CHARGE_UNMAPPED."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.adapters.aws.queue import SqsQueue
from shared.flows.release import map_customer, recheck_credit_holds, release_order
from shared.resources import queue
from tests.fixtures.order_env import OrderWorld, order_world

D = Decimal


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    with order_world(tmp_path_factory.mktemp("order-holds"), aws_server) as w:
        yield w


class Later:
    """The poll's clock, `minutes` from now."""

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(minutes=self.minutes)


def _orders_queue(world: OrderWorld) -> SqsQueue:
    return SqsQueue(world.env.env[queue("orders").env_var])


def _cin7_customer(world: OrderWorld, name: str, *, on_hold: bool = False, tier: str = "Wholesale") -> str:
    return world.env.create_cin7_customer(name, tier=tier, on_hold=on_hold)


def _on_hold_customer(world: OrderWorld, name: str, *, on_hold: bool = True, tier: str = "Wholesale") -> str:
    """A Cin7 customer (on credit hold unless told) and the Oro account bound to it; returns the Cin7 id."""
    cin7_id = _cin7_customer(world, name, on_hold=on_hold, tier=tier)
    world.add_customer(name, erp_customer_id=cin7_id)
    return cin7_id


def _clear_credit_hold(world: OrderWorld, cin7_id: str) -> None:
    customer = world.cin7.get_customer(cin7_id)
    world.cin7.update_customer({"ID": customer.ID, "Name": customer.Name, "IsOnCreditHold": False})


def test_draft_kept_for_credit_hold_is_authorised_when_released_after_the_hold_is_cleared(world: OrderWorld):
    cin7_id = _on_hold_customer(world, "Harbor Supplies")
    order_id = world.place("Harbor Supplies", [("GAD-200", "each", 4, "8.00")])
    world.settle()
    assert world.the_sale(order_id).Order.Status == "DRAFT"
    assert set(world.exceptions(order_id)) == {"CUSTOMER_ON_HOLD"}
    assert world.state.get_order(order_id).reasons[0].startswith("CUSTOMER_ON_HOLD: ")

    _clear_credit_hold(world, cin7_id)
    release_order(world.state, _orders_queue(world), Later(0), order_id, by="cli:finance")
    world.settle()

    (sale,) = world.sales(order_id)
    assert sale.Order.Status == "AUTHORISED"
    state = world.state.get_order(order_id)
    assert (state.status, state.erp_status, state.open_codes, state.reasons) == (
        "synced",
        "AUTHORISED",
        [],
        [],
    )
    assert world.exceptions(order_id) == {}
    assert "authorised" in world.kinds(order_id)


def test_poll_rechecks_a_credit_hold_draft_only_after_a_while_and_then_authorises_it(world: OrderWorld):
    cin7_id = _on_hold_customer(world, "Quay Traders")
    order_id = world.place("Quay Traders", [("BOLT-300", "each", 40, "0.25")])
    world.settle()
    assert world.the_sale(order_id).Order.Status == "DRAFT"
    orders = _orders_queue(world)

    # Still on hold: a re-check within 15 minutes of the flow's last look is not due.
    assert order_id not in recheck_credit_holds(world.state, orders, Later(1))
    rechecked = recheck_credit_holds(world.state, orders, Later(16))
    assert order_id in rechecked
    world.settle()
    assert world.the_sale(order_id).Order.Status == "DRAFT"  # the ERP still says on hold
    assert set(world.exceptions(order_id)) == {"CUSTOMER_ON_HOLD"}

    _clear_credit_hold(world, cin7_id)
    assert order_id in recheck_credit_holds(world.state, orders, Later(32))
    world.settle()
    (sale,) = world.sales(order_id)
    assert sale.Order.Status == "AUTHORISED"
    assert world.exceptions(order_id) == {}


def test_confirming_a_pending_order_whose_customer_is_on_hold_keeps_the_draft_and_raises_CUSTOMER_ON_HOLD(
    world: OrderWorld,
):
    _on_hold_customer(world, "Dockside Ltd")
    with world.new_orders_status("pending"):
        order_id = world.place("Dockside Ltd", [("WID-100", "each", 2, "12.00")])
        world.settle()
    assert world.the_sale(order_id).Order.Status == "DRAFT"

    world.set_status(order_id, "open")
    world.settle()

    (sale,) = world.sales(order_id)
    assert sale.Order.Status == "DRAFT"
    state = world.state.get_order(order_id)
    assert (state.status, state.open_codes) == ("draft", ["CUSTOMER_ON_HOLD"])
    assert set(world.exceptions(order_id)) == {"CUSTOMER_ON_HOLD"}


def test_cancelling_a_held_order_closes_its_exceptions(world: OrderWorld):
    order_id = world.place("Bolt Brothers", [("BOLT-300", "each", 10, "0.25")])
    world.settle()
    assert set(world.exceptions(order_id)) == {"CUSTOMER_UNMAPPED"}

    world.set_status(order_id, "cancelled")
    world.settle()

    state = world.state.get_order(order_id)
    assert (state.status, state.open_codes) == ("ignored", [])
    assert world.exceptions(order_id) == {}
    assert world.sales(order_id) == []


# -- prices -------------------------------------------------------------------------------------------


@pytest.fixture
def erp_pricing(world: OrderWorld) -> Iterator[OrderWorld]:
    world.env.reconfigure({"pricing": {"authority": "erp"}})
    try:
        yield world
    finally:
        world.env.reconfigure({"pricing": {"authority": "storefront"}})


def test_price_above_the_contract_is_held_PRICE_MISMATCH_in_erp_mode_and_released_at_the_storefront_price(
    erp_pricing: OrderWorld,
):
    world = erp_pricing
    # Acme Holdings buys at the Cin7 tier 'Contract': GAD-200 at 7.60; the storefront says 8.00
    order_id = world.place("Acme Holdings", [("GAD-200", "each", 5, "8.00")])
    world.settle()
    assert world.sales(order_id) == []
    found = world.exceptions(order_id)
    assert set(found) == {"PRICE_MISMATCH"} and found["PRICE_MISMATCH"]["owner"] == "finance"

    release_order(world.state, _orders_queue(world), Later(0), order_id, accept_storefront_price=True)
    world.settle()

    (sale,) = world.sales(order_id)
    assert [(ln.SKU, ln.Price) for ln in sale.Order.Lines] == [("GAD-200", D("8.0000"))]
    assert world.exceptions(order_id) == {}
    assert "storefront_price_accepted" in world.kinds(order_id)


def test_order_is_held_PRICE_MISMATCH_in_erp_mode_when_the_erp_has_no_price_in_the_customers_tier(
    erp_pricing: OrderWorld,
):
    world = erp_pricing
    _on_hold_customer(world, "Pier Nine", on_hold=False, tier="Tier 3")  # no product has a Tier 3 price
    order_id = world.place("Pier Nine", [("WID-100", "each", 1, "12.50")])
    world.settle()

    assert world.sales(order_id) == []
    assert world.state.get_order(order_id).reasons == [
        "PRICE_MISMATCH: WID-100: no ERP price in tier 'Tier 3' to check the storefront's against"
    ]


def test_price_above_the_contract_is_sent_and_raises_PRICE_DRIFT_in_storefront_mode(world: OrderWorld):
    order_id = world.place("Acme Holdings", [("GAD-200", "each", 3, "8.00")])
    world.settle()

    (sale,) = world.sales(order_id)
    assert sale.Order.Status == "AUTHORISED"
    assert [(ln.SKU, ln.Price) for ln in sale.Order.Lines] == [("GAD-200", D("8.0000"))]
    drift = [e for e in world.state.open_exceptions() if e["code"] == "PRICE_DRIFT"]
    assert "sku:GAD-200:tier:Contract" in [e["entity"] for e in drift]  # one per SKU and tier
    assert "price_drift" in world.kinds(order_id)


# -- order-level amounts -----------------------------------------------------------------------------------


@pytest.fixture
def no_shipping_charge(world: OrderWorld) -> Iterator[OrderWorld]:
    shipping = world.env.config.erp.charges.shipping
    assert shipping is not None
    world.env.reconfigure({"erp": {"charges": {"shipping": None}}})
    try:
        yield world
    finally:
        world.env.reconfigure({"erp": {"charges": {"shipping": shipping.model_dump()}}})


def test_order_with_shipping_is_held_CHARGE_UNMAPPED_when_no_shipping_product_is_configured(
    no_shipping_charge: OrderWorld,
):
    world = no_shipping_charge
    order_id = world.place(
        "Acme Holdings", [("WID-100", "each", 1, "12.00")], attributes={"estimatedShippingCostAmount": "9.50"}
    )
    world.settle()

    assert world.sales(order_id) == []
    state = world.state.get_order(order_id)
    assert state.status == "held"
    assert state.reasons == ["CHARGE_UNMAPPED: order shipping 9.50: erp.charges.shipping is not set"]
    assert world.exceptions(order_id)["CHARGE_UNMAPPED"]["owner"] == "operations"


def test_child_account_follows_its_parent_when_finance_rebinds_the_parent_to_another_erp_customer(
    world: OrderWorld,
):
    old, new = _cin7_customer(world, "Reef Group"), _cin7_customer(world, "Reef Group Holdings")
    parent = str(world.oro.create("customers", {"name": "Reef Group"}).resources()[0].id)
    child_doc = world.oro.create("customers", {"name": "Reef West"}, {"parent": ("customers", parent)})
    world.env.ids["oro"]["customers"]["Reef West"] = str(child_doc.resources()[0].id)
    map_customer(world.state, _orders_queue(world), Later(0), parent, old)

    first = world.place("Reef West", [("BOLT-300", "each", 10, "0.25")])
    world.settle()
    assert world.the_sale(first).CustomerID == old

    map_customer(world.state, _orders_queue(world), Later(0), parent, new, replace=True)
    second = world.place("Reef West", [("BOLT-300", "each", 10, "0.25")])
    world.settle()
    assert world.the_sale(second).CustomerID == new  # not the copy of the parent's old binding
