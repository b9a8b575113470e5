"""An order's life after its first sync, over real HTTP (Oro sandbox → webhook → queue → order_sync → Cin7
sandbox): the customer it lands on as the hierarchy and bindings are now, a DRAFT that follows its order, a
deletion, and an approval workflow in Oro's external status.

One seeded environment serves the module; each test builds the accounts it changes, so the tests do not depend
on one another's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.fixtures.order_env import OrderWorld, order_world

D = Decimal
LINES = [("BOLT-300", "each", 40, "0.25")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    with order_world(tmp_path_factory.mktemp("order-lifecycle"), aws_server) as w:
        yield w


def _account(world: OrderWorld, name: str, parent: str | None = None, external_id: str | None = None) -> str:
    """A new Oro account under `parent` (an Oro id), with the ERP id in its externalId if given."""
    rel = {"parent": ("customers", parent)} if parent else None
    attrs: dict[str, str] = {"name": name}
    if external_id:
        attrs["externalId"] = external_id
    customer_id = str(world.oro.create("customers", attrs, rel).resources()[0].id)
    world.env.ids["oro"]["customers"][name] = customer_id
    return customer_id


def _cin7(world: OrderWorld, name: str) -> str:
    """A new Cin7 customer (finance creates it in the back office)."""
    cin7_id = world.env.create_cin7_customer(name)
    world.env.ids["cin7"]["customers"][name] = cin7_id
    return cin7_id


def _hierarchy(world: OrderWorld, tag: str) -> tuple[str, str, str]:
    """Top (bound by its externalId to the Cin7 customer '<tag> Holdings') → Region → Store."""
    top = _account(world, f"{tag} Top", external_id=_cin7(world, f"{tag} Holdings"))
    region = _account(world, f"{tag} Region", parent=top)
    store = _account(world, f"{tag} Store", parent=region)
    return top, region, store


def _sale_customer(world: OrderWorld, customer: str) -> str:
    order_id = world.place(customer, LINES)
    world.settle()
    sale = world.the_sale(order_id)
    assert sale.Order.Status == "AUTHORISED"
    assert world.state.get_order(order_id).erp_customer_id == sale.CustomerID
    return sale.Customer


# -- the customer, as the hierarchy and bindings are now -----------------------------------------------------


def test_a_later_binding_of_a_nearer_account_wins_over_the_parent_an_earlier_order_landed_on(
    world: OrderWorld,
):
    _, region, store = _hierarchy(world, "Nearer")
    assert _sale_customer(world, "Nearer Store") == "Nearer Holdings"

    # finance binds the regional parent to its own Cin7 customer: the store's next order lands there
    world.state.put_customer_binding(region, _cin7(world, "Nearer Regional"), datetime.now(UTC))
    assert _sale_customer(world, "Nearer Store") == "Nearer Regional"

    # then the store itself gets a Cin7 customer in its own externalId: nearest wins again
    world.oro.patch("customers", store, {"externalId": _cin7(world, "Nearer Store Account")})
    assert _sale_customer(world, "Nearer Store") == "Nearer Store Account"


def test_a_changed_external_id_takes_effect_on_the_next_order(world: OrderWorld):
    top, _, _ = _hierarchy(world, "Changed")
    assert _sale_customer(world, "Changed Store") == "Changed Holdings"

    world.oro.patch("customers", top, {"externalId": _cin7(world, "Changed Successor")})
    assert _sale_customer(world, "Changed Store") == "Changed Successor"


def test_resolving_a_three_level_hierarchy_costs_no_erp_call_in_steady_state(world: OrderWorld):
    _hierarchy(world, "Steady")
    _sale_customer(world, "Steady Store")  # warms the ERP customer and price caches
    before = world.cin7_stats()["calls"]
    order_id = world.place("Steady Store", LINES)
    world.settle()
    after = world.cin7_stats()["calls"]
    assert world.erp_calls(order_id) == [2]
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "POST /sale": 1,
        "POST /sale/order": 1,
    }


# -- a DRAFT follows its order ------------------------------------------------------------------------------


def _place_pending(world: OrderWorld, customer: str, lines, **kw) -> str:
    with world.new_orders_status("pending"):
        return world.place(customer, lines, **kw)


def _relate(world: OrderWorld, order_id: str, name: str, type_: str, target_id: str) -> None:
    world.tick()
    world.oro.patch("orders", order_id, None, {name: (type_, target_id)})


def test_customer_and_po_changed_while_draft_are_on_the_sale_when_it_is_authorised(world: OrderWorld):
    redirected = _account(world, "Redirected Buyer", external_id=_cin7(world, "Redirected Buyer Ltd"))
    order_id = _place_pending(world, "Acme Holdings", LINES, po_number="PO-OLD")
    world.settle()
    draft = world.the_sale(order_id)
    assert (draft.Order.Status, draft.Customer, draft.CustomerReference) == (
        "DRAFT",
        "Acme Holdings",
        "PO-OLD",
    )

    _relate(world, order_id, "customer", "customers", redirected)
    world.tick()
    world.oro.patch("orders", order_id, {"poNumber": "PO-NEW"})
    world.set_status(order_id, "open")
    world.settle()

    (sale,) = world.sales(order_id)
    assert sale.ID == draft.ID
    assert (sale.Order.Status, sale.Customer, sale.CustomerReference) == (
        "AUTHORISED",
        "Redirected Buyer Ltd",
        "PO-NEW",
    )
    state = world.state.get_order(order_id)
    assert (state.status, state.erp_customer_id) == ("synced", world.cin7_customer("Redirected Buyer Ltd"))
    assert world.exceptions(order_id) == {}
    assert world.kinds(order_id).count("erp_sale_created") == 1


def test_lines_changed_while_pending_follow_onto_the_draft_sale(world: OrderWorld):
    order_id = _place_pending(world, "Acme Holdings", LINES)
    world.settle()
    (line_id,) = world.get_order(order_id)["relationships"]["lineItems"]["data"]
    world.tick()
    world.oro.patch("orderlineitems", line_id["id"], {"quantity": 60})
    world.settle()

    (sale,) = world.sales(order_id)
    assert sale.Order.Status == "DRAFT"
    assert [(ln.SKU, ln.Quantity) for ln in sale.Order.Lines] == [("BOLT-300", D(60))]
    state = world.state.get_order(order_id)
    assert (state.status, state.erp_status) == ("draft", "DRAFT")
    assert "ORDER_CHANGED_AFTER_SYNC" not in world.exceptions(order_id)


def test_a_change_after_the_sale_is_authorised_is_still_never_resent(world: OrderWorld):
    order_id = world.place("Acme Holdings", LINES, po_number="PO-1")
    world.settle()
    world.tick()
    world.oro.patch("orders", order_id, {"poNumber": "PO-2"})
    world.settle()
    assert world.the_sale(order_id).CustomerReference == "PO-1"
    assert "ORDER_CHANGED_AFTER_SYNC" in world.exceptions(order_id)


# -- deleted in Oro -------------------------------------------------------------------------------------------


def _delete(world: OrderWorld, order_id: str) -> None:
    world.oro.request("DELETE", f"orders/{order_id}")
    world.settle()


def test_a_deleted_order_has_its_draft_sale_voided(world: OrderWorld):
    order_id = _place_pending(world, "Acme Holdings", LINES)
    world.settle()
    assert world.the_sale(order_id).Order.Status == "DRAFT"

    _delete(world, order_id)

    (sale,) = world.sales(order_id)
    assert sale.Status == "VOIDED"
    state = world.state.get_order(order_id)
    assert (state.status, state.erp_status) == ("deleted", "VOIDED")
    assert world.exceptions(order_id) == {}


def test_a_deleted_order_with_an_authorised_sale_raises_ORDER_DELETED_for_customer_service(world: OrderWorld):
    order_id = world.place("Acme Holdings", LINES)
    world.settle()

    _delete(world, order_id)

    (sale,) = world.sales(order_id)
    assert sale.Status != "VOIDED" and sale.Order.Status == "AUTHORISED"
    raised = world.exceptions(order_id)
    assert list(raised) == ["ORDER_DELETED"]
    assert raised["ORDER_DELETED"]["owner"] == "customer_service"
    assert world.state.get_order(order_id).status == "deleted"


def test_a_held_order_that_is_deleted_closes_its_exceptions(world: OrderWorld):
    order_id = world.place("Acme Holdings", [("BOLT-300", "pallet", 1, "100.00")])  # no pallet mapping
    world.settle()
    assert "UOM_UNMAPPED" in world.exceptions(order_id)

    _delete(world, order_id)

    assert world.exceptions(order_id) == {}
    assert world.sales(order_id) == []
    assert world.state.get_order(order_id).status == "deleted"


# -- approval workflows in the external status ------------------------------------------------------------------


def test_an_order_waiting_for_approval_in_its_external_status_lands_as_draft_then_is_authorised(
    world: OrderWorld,
):
    world.oro_ctl("POST", "config", {"external_status_management": True})
    try:
        order_id = world.place("Acme Holdings", LINES)
        world.settle()
        world.the_sale(order_id)  # created AUTHORISED: no external status yet
        with world.webhooks_dropped():  # placed, then put to wait for approval, before the service looks
            waiting = world.place("Acme Holdings", LINES)
            _relate(world, waiting, "status", "orderstatuses", "wait_for_approval")
        world.tick()
        world.oro.patch("orders", waiting, {"customerNotes": "awaiting the buyer's approval"})
        world.settle()
        assert world.get_order(waiting)["relationships"]["internalStatus"]["data"]["id"] == "open"
        draft = world.the_sale(waiting)
        assert draft.Order.Status == "DRAFT"
        assert world.state.get_order(waiting).status == "draft"

        _relate(world, waiting, "status", "orderstatuses", "open")
        world.settle()
        (sale,) = world.sales(waiting)
        assert (sale.ID, sale.Order.Status) == (draft.ID, "AUTHORISED")
    finally:
        world.oro_ctl("POST", "config", {"external_status_management": False})


def test_a_draft_held_after_an_edit_is_a_draft_again_when_the_edit_is_undone(world: OrderWorld):
    order_id = _place_pending(world, "Acme Holdings", LINES, po_number="PO-A")
    world.settle()
    (line,) = world.get_order(order_id)["relationships"]["lineItems"]["data"]

    def edit(unit: str, po_number: str) -> None:
        world.tick()
        world.oro.patch("orderlineitems", line["id"], None, {"productUnit": ("productunits", unit)})
        world.oro.patch("orders", order_id, {"poNumber": po_number})
        world.settle()

    edit("pallet", "PO-B")  # a unit with no mapping: the DRAFT's order is held
    assert "UOM_UNMAPPED" in world.exceptions(order_id)
    assert world.state.get_order(order_id).status == "held"

    edit("each", "PO-A")  # undone: the order is what its DRAFT holds again

    state = world.state.get_order(order_id)
    assert (state.status, state.erp_status) == ("draft", "DRAFT")
    assert world.exceptions(order_id) == {}
    (sale,) = world.sales(order_id)
    assert (sale.Order.Status, sale.CustomerReference) == ("DRAFT", "PO-A")
