"""The sale header of DESIGN §4.1 (issue 7, items 4-6), each driven through the whole local service over
real HTTP: an order placed in the Oro sandbox through its API, the signed webhook, the orders queue,
order_sync, and the resulting Cin7 sandbox sale (or the named exception that holds the order).

- addresses, notes, ship-by date, PO number and the buyer travel onto the sale;
- an order in another currency than its Cin7 customer is held CURRENCY_MISMATCH; a customer outside the
  base currency gets the configured CurrencyRate, or is held CURRENCY_RATE_MISSING (never a silent 1);
- a tax-inclusive customer gets a tax-inclusive sale whose total is Oro's to the cent; a sale whose tax
  differs from the tax Oro computed by more than a cent is held TAX_MISMATCH.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.fixtures.order_env import OrderWorld, order_config, order_world

D = Decimal

STORE_DOCK = {
    "label": "Store 12 receiving",
    "organization": "Acme East Store 12",
    "firstName": "Stella",
    "lastName": "Storm",
    "street": "88 Dock Rd",
    "street2": "Unit 4",
    "city": "Springfield",
    "postalCode": "62704",
    "phone": "+1 217 555 0112",
    "country": "US",
    "region": "US-IL",
}
HEAD_OFFICE = {
    "organization": "Acme Holdings",
    "firstName": "Alice",
    "lastName": "Ackerman",
    "street": "1 Acme Plaza",
    "city": "Chicago",
    "postalCode": "60601",
    "phone": "+1 312 555 0100",
    "country": "US",
    "region": "US-IL",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("order-header")
    config = order_config(workdir, **{"erp.base_currency": "USD", "erp.currency_rates": {"NZD": "1.71234"}})
    with order_world(workdir, aws_server, config) as w:
        yield w


def _customer(world: OrderWorld, name: str, *, currency: str = "USD", tax_rule: str = "Tax on Sales") -> None:
    """A Cin7 customer finance created, and an Oro account bound to it."""
    cin7_id = world.env.create_cin7_customer(name, currency=currency, tax_rule=tax_rule)
    world.add_customer(name, erp_customer_id=cin7_id)


def _held(world: OrderWorld, order_id: str, code: str) -> dict:
    assert world.sales(order_id) == []
    state = world.state.get_order(order_id)
    assert state.status == "held", state
    found = world.exceptions(order_id)
    assert set(found) == {code}, found
    return found[code]


# -- 4. addresses and notes travel ----------------------------------------------------------------------


def test_store_order_ships_to_its_own_address_with_notes_ship_by_po_and_buyer_on_the_sale(world: OrderWorld):
    # A subsidiary's store orders; the sale lands on the billing parent, but ships to the store's dock.
    order_id = world.place(
        "Acme East Store 12",
        [("WID-100", "each", 6, "12.00")],
        po_number="PO-STORE-12",
        attributes={"customerNotes": "Deliver to dock 3, before 10 am", "shipUntil": "2026-07-14"},
        addresses={"shippingAddress": STORE_DOCK, "billingAddress": HEAD_OFFICE},
        buyer=True,
    )
    world.settle()

    sale = world.the_sale(order_id)
    assert sale.Customer == "Acme Holdings"
    assert sale.ShippingAddress == {
        "Line1": "88 Dock Rd",
        "Line2": "Unit 4",
        "City": "Springfield",
        "State": "IL",
        "Postcode": "62704",
        "Country": "United States",
        "Company": "Acme East Store 12",
        "Contact": "Stella Storm",
        "ShipToOther": True,  # this sale's address: the parent's address book is left alone
    }
    assert sale.BillingAddress == {
        "Line1": "1 Acme Plaza",
        "Line2": "",
        "City": "Chicago",
        "State": "IL",
        "Postcode": "60601",
        "Country": "United States",
    }
    assert sale.ShipBy is not None and sale.ShipBy.date().isoformat() == "2026-07-14"
    assert sale.CustomerReference == "PO-STORE-12"
    assert "Deliver to dock 3, before 10 am" in (sale.Note or "")
    assert (sale.Contact, sale.Email, sale.Phone) == (
        "Stella Storm",
        "store12@acme-east.example.com",
        "+1 312 555 0100",
    )
    parent = world.cin7.get_customer(world.cin7_customer("Acme Holdings"))
    assert not any(a.Line1 == "88 Dock Rd" for a in parent.Addresses)
    # personal data stays out of the order's timeline
    assert "Dock" not in str(world.timeline(order_id)) and "store12@" not in str(world.timeline(order_id))


# -- 5. currency ----------------------------------------------------------------------------------------


def test_order_in_another_currency_than_its_erp_customer_is_held_CURRENCY_MISMATCH_for_finance(
    world: OrderWorld,
):
    order_id = world.place("Acme Holdings", [("WID-100", "each", 2, "12.00")], attributes={"currency": "EUR"})
    world.settle()

    found = _held(world, order_id, "CURRENCY_MISMATCH")
    assert found["owner"] == "finance"
    assert "EUR" in found["detail"] and "USD" in found["detail"]


def test_customer_outside_the_base_currency_gets_finances_configured_currency_rate(world: OrderWorld):
    _customer(world, "Kiwi Traders", currency="NZD")
    order_id = world.place("Kiwi Traders", [("WID-100", "each", 2, "20.00")], attributes={"currency": "NZD"})
    world.settle()

    sale = world.the_sale(order_id)
    assert (sale.BaseCurrency, sale.CustomerCurrency, sale.CurrencyRate) == ("USD", "NZD", D("1.71234"))
    assert sale.Order.Status == "AUTHORISED"


def test_customer_outside_the_base_currency_with_no_configured_rate_is_held_CURRENCY_RATE_MISSING(
    world: OrderWorld,
):
    _customer(world, "Thames Supplies", currency="GBP")
    order_id = world.place(
        "Thames Supplies", [("WID-100", "each", 2, "20.00")], attributes={"currency": "GBP"}
    )
    world.settle()

    found = _held(world, order_id, "CURRENCY_RATE_MISSING")
    assert found["owner"] == "finance"
    assert "GBP" in found["detail"] and "erp.currency_rates" in found["detail"]


# -- 6. tax ---------------------------------------------------------------------------------------------


def test_tax_inclusive_customer_gets_an_inclusive_sale_whose_total_is_oros_to_the_cent(world: OrderWorld):
    _customer(world, "Inclusive Imports", tax_rule="Tax on Sales Inclusive")
    with world.oro_taxation({"standard": "10"}, shipping_percent="10"):
        # one case of 12 at 100.00 (10.00 tax), 25.00 shipping (2.50 tax)
        order_id = world.place(
            "Inclusive Imports",
            [("WID-100", "case", 1, "100.00")],
            attributes={"estimatedShippingCostAmount": "25.00"},
        )
        world.settle()

    sale = world.the_sale(order_id)
    assert sale.TaxCalculation == "Inclusive"
    [line] = sale.Order.Lines
    # the price holds the tax: 110.00 / 12 rounded down; Cin7 splits the 10.00 back out of the total
    assert (line.Quantity, line.Price, line.Tax, line.Total) == (
        D(12),
        D("9.1666"),
        D("10.00"),
        D("109.9992"),
    )
    charges = {c.Description: (c.Price, c.Tax, c.Total) for c in sale.Order.AdditionalCharges}
    assert charges == {
        "Freight": (D("27.50"), D("2.50"), D("27.50")),
        "Rounding": (D("0.0008"), D(0), D("0.0008")),
    }
    oro_total = D(world.get_order(order_id)["attributes"]["totalValue"])
    assert oro_total == D("137.50")  # 100.00 + 25.00 + 12.50 tax
    assert (sale.Order.Total, sale.Order.Tax) == (oro_total, D("12.50"))
    assert world.exceptions(order_id) == {}


def test_sale_tax_beyond_a_cent_of_the_tax_oro_computed_holds_the_order_TAX_MISMATCH_and_agreeing_tax_syncs(
    world: OrderWorld,
):
    with world.oro_taxation({"standard": "8"}):  # Oro taxes WID-100 at 8 %, Cin7's rule is 10 %
        held = world.place("Acme Holdings", [("WID-100", "each", 10, "12.00")])
        world.settle()
    with world.oro_taxation({"standard": "10"}):  # the same order where Oro's rate is Cin7's
        synced = world.place("Acme Holdings", [("WID-100", "each", 10, "12.00")])
        world.settle()

    found = _held(world, held, "TAX_MISMATCH")
    assert found["owner"] == "finance"
    assert "9.60" in found["detail"] and "12.00" in found["detail"]
    sale = world.the_sale(synced)
    assert sale.TaxCalculation == "Exclusive"
    assert sale.Order.Total == D(world.get_order(synced)["attributes"]["totalValue"]) == D("132.00")
    assert world.exceptions(synced) == {}
