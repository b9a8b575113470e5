"""Reconciliation (shared/flows/reconcile.py) in the seeded local environment, over real HTTP: an order the
service never heard of is found, enqueued again and synced; a Cin7 sale with this service's ExternalID and no
binding is a ghost; a total that differs between Oro and Cin7 is found; a run costs its saleList pages only;
`orosync reconcile --report` prints the last run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cli.main import main
from shared.flows.intake import fingerprint
from tests.fixtures.order_env import OrderWorld, order_world

LINE = ("WID-100", "each", 2, "12.50")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server) -> Iterator[OrderWorld]:
    with order_world(tmp_path_factory.mktemp("reconcile"), aws_server) as w:
        yield w


def reconcile(world: OrderWorld) -> dict[str, Any]:
    """Fire the schedule, let everything it causes settle, and return the stored result."""
    assert world.env.runtime is not None
    world.env.runtime.fire("reconcile")
    world.settle()
    return world.state.reconcile_results()["orders"]


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def service_erp_calls(world: OrderWorld) -> int:
    key = world.env.cin7_credentials["application_key"]
    return int(world.cin7_stats()["calls_by_application"].get(key, 0))


def place_old(world: OrderWorld, *, dropped: bool) -> str:
    """An order placed (by Oro's clock) an hour ago, taxed by Oro at Cin7's rate (so both totals include
    the same tax); with `dropped`, the service never heard of it."""
    with world.oro_clock_at(an_hour_ago()), world.oro_taxation({"standard": "10"}):
        if dropped:
            with world.webhooks_dropped():
                order_id = world.place("Acme Holdings", [LINE])
        else:
            order_id = world.place("Acme Holdings", [LINE])
    world.settle()
    return order_id


def test_an_order_the_service_never_heard_of_is_orphaned_enqueued_again_synced_and_closed(world):
    order_id = place_old(world, dropped=True)
    assert world.state.get_order(order_id).status == "new" and world.sales(order_id) == []

    first = reconcile(world)

    assert order_id in first["orphaned"]
    assert "ORDER_ORPHANED" in world.exceptions(order_id)
    assert world.state.get_order(order_id).status == "synced"
    assert len(world.sales(order_id)) == 1
    assert "reconcile_requeued" in world.kinds(order_id)

    second = reconcile(world)
    assert order_id not in second["orphaned"]
    assert "ORDER_ORPHANED" not in world.exceptions(order_id)
    assert second["closed"] >= 1


def test_an_order_whose_queued_message_was_lost_is_enqueued_again_past_intake(world):
    """Intake took the version in (webhook), then its message vanished: intake would drop it as a duplicate,
    reconciliation sends it anyway."""
    order_id = place_old(world, dropped=True)
    since = datetime.now(UTC) - timedelta(hours=2)
    oro = next(o for o in world.oro.iter_orders_updated_since(since) if o.id == order_id)
    version = oro.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # intake's claim as the webhook left it; the message it sent was deleted before order_sync read it
    entity, key = f"oro-order#{order_id}", fingerprint(version, oro.internal_status, oro.total_value)
    assert world.state.claim_intake(entity, key, datetime.now(UTC), stale_after_seconds=3600)
    world.state.mark_intake_enqueued(entity, key, "deleted-message")
    assert [r["state"] for r in world.state.intake_records(f"oro-order#{order_id}")] == ["enqueued"]
    assert world.state.get_order(order_id).status == "new"

    result = reconcile(world)

    assert order_id in result["orphaned"]
    assert world.state.get_order(order_id).status == "synced"
    assert len(world.sales(order_id)) == 1


def test_a_sale_with_our_external_id_and_no_binding_is_a_ghost(world):
    customer = world.cin7_customer("Acme Holdings")
    ghost = world.cin7.create_sale(
        {"CustomerID": customer, "ExternalID": world.external_id("990001"), "Location": "Main Warehouse"}
    )

    result = reconcile(world)

    assert ghost.ID in result["ghosts"]
    ghosts = [e for e in world.state.open_exceptions() if e["code"] == "ORDER_GHOST"]
    assert [e["entity"] for e in ghosts] == [f"sale:{ghost.ID}"]
    assert "990001" in ghosts[0]["detail"]


def test_a_total_that_differs_between_oro_and_cin7_is_a_mismatch(world):
    order_id = place_old(world, dropped=False)
    sale = world.the_sale(order_id)
    before = reconcile(world)
    assert order_id not in [m["order_id"] for m in before["mismatches"]], before["mismatches"]
    assert "TOTAL_MISMATCH" not in world.exceptions(order_id)

    # a back-office change to the Oro order the service never heard of: shipping charged afterwards
    with (
        world.oro_clock_at(an_hour_ago(), plus_seconds=60),
        world.oro_taxation({"standard": "10"}),
        world.webhooks_dropped(),
    ):
        world.oro.patch("orders", order_id, {"overriddenShippingCostAmount": "5.00"})
    world.settle()

    after = reconcile(world)

    mismatch = [m for m in after["mismatches"] if m["order_id"] == order_id]
    assert mismatch and mismatch[0] == {
        "order_id": order_id,
        "sale_id": sale.ID,
        "oro": "32.50",
        "erp": "27.50",
    }
    assert "TOTAL_MISMATCH" in world.exceptions(order_id)


def test_a_run_costs_its_sale_list_pages_not_a_call_per_order(world):
    for _ in range(3):
        place_old(world, dropped=False)
    before = service_erp_calls(world)

    result = reconcile(world)

    assert result["to_sync"] >= 5
    assert result["sale_pages"] == 1  # fewer than 1000 sales: one page
    assert service_erp_calls(world) - before == result["erp_calls"] == 1


def test_the_report_prints_the_last_run(world, capsys):
    where = ["--aws-endpoint", world.env.aws.endpoint_url, "--prefix", world.env.prefix]
    code = main(["reconcile", "--report", *where])
    out = capsys.readouterr().out
    assert code == 0
    last = world.state.reconcile_results()["orders"]
    assert "ORPHANED" in out and "GHOSTS" in out and "MISMATCHES" in out
    assert f"ORDER_GHOST    sale:{last['ghosts'][0]}" in out
    assert "TOTAL_MISMATCH order:" in out
    assert f"{last['sale_pages']} saleList page(s)" in out

    code = main(["reconcile", "--report", "--json", *where])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["orders"]["ghosts"] == last["ghosts"]


def drift(world: OrderWorld) -> dict[str, Any]:
    """The daily drift step as reconcile_run works it (the back office's Cin7 client: its calls are counted on
    the result), on the service's state."""
    from shared.adapters.aws.queue import SqsQueue
    from shared.flows.reconcile import ReconcileFlow
    from shared.resources import queue
    from shared.runtime import SystemClock

    orders = SqsQueue(world.env.env[queue("orders").env_var])
    flow = ReconcileFlow(world.env.config, world.state, orders, SystemClock(), erp=world.cin7, oro=world.oro)
    return flow.drift().as_dict()


def test_stock_and_prices_changed_by_hand_after_the_runs_are_counted_as_drift(world):
    from decimal import Decimal

    from shared.adapters.orocommerce.inventory import OroInventory

    assert world.env.runtime is not None
    for schedule in ("stock_sync", "price_sync"):  # what the service last set on each side
        world.env.runtime.fire(schedule)
        world.settle(60)
    clean = drift(world)
    assert clean["stock_drift"] == 0 and clean["stock_levels"] > 0
    assert clean["price_drift"] == 0 and clean["prices_compared"] > 0
    assert clean["erp_calls"] == 1  # one product page for the demo catalogue

    level = OroInventory(world.oro).products(["WID-100"])["WID-100"].levels["each"]
    world.oro.update_inventory_level(level.level_id, level.quantity + 7)  # a person edits Oro's level
    product = next(world.cin7.iter_products(sku="GAD-200"))
    world.cin7.update_product(product.ID, {"PriceTiers": {"Contract": Decimal("9.99")}})  # and Cin7's tier

    found = drift(world)
    assert (found["stock_drift"], found["price_drift"]) == (1, 1)
    assert found["stock_examples"] == [f"WID-100 each: pushed {level.quantity}, Oro {level.quantity + 7}"]
    assert found["price_examples"][0].startswith("GAD-200 tier Contract: sent ")
    assert found["price_examples"][0].endswith("Cin7 9.99")
    assert world.state.reconcile_results()["drift"]["stock_drift"] == 1
