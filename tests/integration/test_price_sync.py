"""Prices between the Oro and Cin7 sandboxes through the running service (issue 10): each mapping in its
direction, per unit, to 4 decimals, only changes written, breaks a tier cannot hold reported.

The demo seed: Oro lists Wholesale (WID-100 12.50 each, 144.00 a case of 12; GAD-200 8.00 each, 46.00 a case
of 6; BOLT-300 0.25 each, 24.00 a case of 100) and Contract (5% lower; WID-100 12.00 each, 138.00 a case);
Cin7 tiers 1 "Wholesale" and 2 "Contract". Here Wholesale flows Cin7 → Oro, Contract Oro → Cin7.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from tests.fixtures.order_env import OrderWorld, order_config, order_world

D = Decimal


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("prices")
    config = order_config(
        workdir,
        price_lists=[
            {"oro_price_list_id": "1", "erp_tier": "Wholesale", "direction": "erp_to_oro", "currency": "USD"},
            {"oro_price_list_id": "2", "erp_tier": "Contract", "direction": "oro_to_erp", "currency": "USD"},
        ],
    )
    with order_world(workdir, aws_server, config) as w:
        assert w.env.ids["oro"]["priceLists"] == {"Wholesale": "1", "Contract": "2"}
        # Cin7's Product/Updated webhook (registered for the Cin7 → Oro list) would add reads of its own,
        # a second after each product write, to the exact counts here: on only in the test about it.
        product_webhook(w, active=False)
        yield w


def product_webhook(world: OrderWorld, *, active: bool) -> None:
    (hook,) = [h for h in world.cin7.list_webhooks() if h.Type == "Product/Updated"]
    world.cin7.update_webhook(hook.model_copy(update={"IsActive": active}))


def oro_prices(world: OrderWorld, price_list: str) -> dict[tuple[str, str, Decimal], Decimal]:
    return {
        (p.product_sku or "", p.unit or "", p.quantity): p.value
        for p in world.oro.iter_product_prices(price_list)
    }


def cin7_tier(world: OrderWorld, sku: str, code: int) -> Decimal | None:
    product = world.cin7.get_product_by_sku(sku, include_bom=False)
    return product.tier_price(code)


def service_calls(world: OrderWorld) -> int:
    key = world.env.cin7_credentials["application_key"]
    return int(world.cin7_stats()["calls_by_application"].get(key, 0))


def oro_price_writes(world: OrderWorld) -> int:
    by_endpoint = world.oro_ctl("GET", "stats")["by_endpoint"]
    return sum(n for e, n in by_endpoint.items() if "productprices" in e and not e.startswith("GET"))


def run_prices(world: OrderWorld) -> None:
    assert world.env.runtime is not None
    world.env.runtime.fire("price_sync")
    world.env.wait_until_settled(60)


def test_a_tier_price_changed_in_cin7_reaches_the_oro_list_in_each_unit(world: OrderWorld) -> None:
    run_prices(world)
    product_id = world.env.ids["cin7"]["products"]["WID-100"]
    world.cin7.update_product(product_id, {"PriceTier1": D("11.55")})
    run_prices(world)
    got = oro_prices(world, "1")
    assert got[("WID-100", "each", D(1))] == D("11.5500")
    assert got[("WID-100", "case", D(1))] == D("138.6000")  # 12 × 11.55
    assert got[("WID-100", "pallet", D(1))] == D("5544.0000")  # 480 × 11.55, a price Oro did not hold


def test_a_second_run_with_nothing_changed_writes_nothing(world: OrderWorld) -> None:
    run_prices(world)
    writes, calls = oro_price_writes(world), service_calls(world)
    run_prices(world)
    assert oro_price_writes(world) == writes
    # the Wholesale mapping reads the Cin7 products changed since its last run: one page; Contract none
    assert service_calls(world) - calls == 1


def test_a_price_changed_in_oro_reaches_the_cin7_tier_and_only_it(world: OrderWorld) -> None:
    run_prices(world)
    price_id = world.env.ids["oro"]["productPrices"]["Contract"]["GAD-200"]["each"]
    world.oro.patch("productprices", price_id, attributes={"value": "7.3456"})
    calls = service_calls(world)
    run_prices(world)
    assert cin7_tier(world, "GAD-200", 2) == D("7.3456")
    # Wholesale: its read of the products changed since its last run; Contract: one page of Cin7 products
    # (ids and current tiers) and one PUT for the one product that changed
    assert service_calls(world) - calls == 1 + 2
    calls = service_calls(world)
    run_prices(world)
    assert service_calls(world) - calls == 1  # only the Wholesale read: the Contract list is unchanged


def test_breaks_a_tier_cannot_hold_are_reported_once_per_list_and_sku(world: OrderWorld) -> None:
    run_prices(world)
    run_prices(world)
    open_ = {(e["code"], e["entity"]): e for e in world.state.open_exceptions()}
    # Contract: WID-100 at 12.00 each but 138.00 a case (11.50 an each): the tier takes the each price
    found = open_[("PRICE_BREAK_UNSUPPORTED", "pricelist:2/sku:WID-100")]
    assert found["owner"] == "finance" and "case" in found["detail"]
    item = world.state._table.get_item(
        Key={"pk": "exception#PRICE_BREAK_UNSUPPORTED#pricelist:2/sku:WID-100", "sk": "exception"}
    )["Item"]
    assert item["seen_count"] == 1
    assert cin7_tier(world, "WID-100", 2) == D("12.0000")


def test_a_customer_contract_list_becomes_that_customers_cin7_prices(world: OrderWorld) -> None:
    """A price list assigned to one customer (here a new Oro list) is kept as the Cin7 customer's own prices."""
    acme = world.cin7_customer("Acme Holdings")
    doc = world.oro.create(
        "pricelists", {"name": "Acme contract", "priceListCurrencies": ["USD"], "active": True}
    )
    list_id = str(doc.resources()[0].id)
    product_id = world.env.ids["oro"]["products"]["GAD-200"]
    world.oro.create_product_price(list_id, product_id, "each", D(1), "USD", D("7.1000"))
    world.oro.create_product_price(list_id, product_id, "each", D(100), "USD", D("6.9000"))  # a break
    mappings = [m.model_dump(mode="json") for m in world.env.config.price_lists]
    mappings.append({"oro_price_list_id": list_id, "erp_customer_id": acme, "direction": "oro_to_erp"})
    world.env.reconfigure({"price_lists": mappings})
    calls = service_calls(world)
    run_prices(world)
    prices = {p.ProductSKU: p.Price for p in world.cin7.get_customer(acme).ProductPrices}
    assert prices.get("GAD-200") == D("7.1000")
    # Wholesale's changed-since read, and one /custom-prices call for the customer's list
    assert service_calls(world) - calls == 1 + 1
    assert any(
        e["code"] == "PRICE_BREAK_UNSUPPORTED" and e["entity"] == f"pricelist:{list_id}/sku:GAD-200"
        for e in world.state.open_exceptions()
    )


def test_outside_the_off_peak_window_only_cin7_changes_move(world: OrderWorld) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    closed = f"{(now + timedelta(hours=2)):%H:00}-{(now + timedelta(hours=3)):%H:00}"  # shut for an hour yet
    world.env.reconfigure({"prices": {"full_run_window": closed}})
    assert world.env.runtime is not None
    result = world.env.runtime.fire("price_sync")
    world.env.wait_until_settled(60)
    # every oro_to_erp list (a full comparison) waits for the window; the Cin7 → Oro one runs
    oro_to_erp = sum(1 for m in world.env.config.price_lists if m.direction.value == "oro_to_erp")
    assert result["skipped_outside_window"] == oro_to_erp and result["queued"] == 1
    world.env.reconfigure({"prices": {"full_run_window": None}})


def test_an_oro_batch_applied_in_part_leaves_the_watermark_so_the_next_run_writes_the_rest(
    world: OrderWorld,
) -> None:
    world.env.reconfigure({"prices": {"oro_writes": "batch"}})
    for sku in ("WID-100", "GAD-200", "BOLT-300"):
        world.cin7.update_product(world.env.ids["cin7"]["products"][sku], {"PriceTier1": D("3.3333")})
    refused = world.env.ids["oro"]["productPrices"]["Wholesale"]["GAD-200"]["each"]
    world.oro_ctl("POST", "faults", {"batch_fail_ids": {"productprices": [refused]}})
    try:
        run_prices(world)
    finally:
        world.oro_ctl("DELETE", "faults")
    got = oro_prices(world, "1")
    assert got[("GAD-200", "each", D(1))] != D("3.3333") and got[("BOLT-300", "each", D(1))] == D("3.3333")
    run_prices(world)  # the watermark stayed before the refused write: it is written now
    assert oro_prices(world, "1")[("GAD-200", "each", D(1))] == D("3.3333")
    world.env.reconfigure({"prices": {"oro_writes": "auto"}})


def test_a_tier_changed_in_cin7_reaches_oro_by_its_product_webhook_without_a_run(world: OrderWorld) -> None:
    import time

    run_prices(world)
    product_webhook(world, active=True)
    world.cin7.update_product(world.env.ids["cin7"]["products"]["BOLT-300"], {"PriceTier1": D("0.2612")})
    deadline = time.monotonic() + 30  # Cin7's first try is a second after the change here (a minute live)
    while oro_prices(world, "1").get(("BOLT-300", "each", D(1))) != D("0.2612"):
        assert time.monotonic() < deadline, "the Product/Updated webhook never moved the price"
        time.sleep(0.2)
    world.env.wait_until_settled(30)
    assert oro_prices(world, "1")[("BOLT-300", "case", D(1))] == D("26.1200")
    product_webhook(world, active=False)
