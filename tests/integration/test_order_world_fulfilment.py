"""The order fixture's Cin7 back-office moves for the fulfilment tests (tests/fixtures/order_env.py): a sale the
service created is shipped in two parts with their own tracking, a tracking number changed, invoiced and paid,
each through the sandbox Cin7 API, with the sale's statuses following."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.fixtures.order_env import OrderWorld, order_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    with order_world(tmp_path_factory.mktemp("order-world-fulfilment"), aws_server) as w:
        yield w


def test_a_sale_ships_in_parts_changes_tracking_and_is_invoiced_and_paid(world: OrderWorld):
    order_id = world.place("Acme Holdings", [("WID-100", "each", 5, "12.50")])
    world.settle()
    sale_id = world.the_sale(order_id).ID

    first = world.ship(sale_id, {"WID-100": 2}, tracking="ST-1", carrier="StarTrack")
    part = world.the_sale(order_id)
    assert first == sale_id and part.CombinedShippingStatus == "PARTIALLY SHIPPED"
    assert part.shipped_quantities == {"WID-100": Decimal(2)}

    second = world.ship(sale_id, tracking="ST-2")  # the rest, on a second fulfilment
    world.change_tracking(second, "ST-2B", carrier="DHL Express")
    shipped = world.the_sale(order_id)
    assert second != sale_id and shipped.CombinedShippingStatus == "SHIPPED"
    assert shipped.shipped_quantities == {"WID-100": Decimal(5)}
    assert [(t.TrackingNumber, t.Carrier) for f in shipped.Fulfilments for t in f.tracking] == [
        ("ST-1", "StarTrack"),
        ("ST-2B", "DHL Express"),
    ]

    assert world.invoice(sale_id) == sale_id
    world.pay(sale_id, Decimal("10.00"))
    assert world.the_sale(order_id).CombinedPaymentStatus == "PARTIALLY PAID"
    world.pay(sale_id)
    paid = world.the_sale(order_id)
    assert (paid.CombinedInvoiceStatus, paid.CombinedPaymentStatus, paid.Status) == (
        "PAID",
        "PAID",
        "COMPLETED",
    )
