"""Prices at catalogue scale (issue 10) through the running service, with the service's real ERP budget (55
calls a minute, burst 5, reserve 2 for bulk flows) against Cin7's real 60 calls a minute:
`OROSYNC_PRICE_PRODUCTS` generated products (default 1,000; the issue's figure is 10,000), each sold in Oro by
the each and by the case of 12, and 3 price lists:

- Wholesale (Oro list 1) ← Cin7 tier "Wholesale": Oro holds every product's price in both units, a tenth of
  them (every 10th product) at an old price;
- Contract (Oro list 2) → Cin7 tier "Contract": Cin7 holds every product's Contract price, a hundredth of them
  (every 100th product) at an old price (each is one PUT: Cin7 updates one product a call);
- "Acme contract" (a new Oro list) → Acme Holdings' own Cin7 prices: every product, never sent before.

A warm-up (orders for the demo accounts, a price run over the demo) caches the ERP look-ups and the tier
list, and moves the Wholesale watermark, so the measured run reads the catalogue as "changed since", and its
ERP calls are exactly:

- Wholesale: ceil(products / 1000) product pages (`ModifiedSince`);
- Contract: ceil(Cin7 products / 1000) product pages (ids and current tiers; the demo's 3 included) and one
  PUT per product whose tier differs;
- Acme: ceil(rows / 500) `/custom-prices` calls;
- the orders placed meanwhile: 2 each; the tier list: none (cached by the warm-up).

It writes to Oro only the Wholesale prices that differ: one batch request per page of products (each page
holds 100 changed products, 200 prices). Orders placed during the run arrive as `pending` and become DRAFT
sales, as in test_stock_scale.py. Measured here with `OROSYNC_PRICE_PRODUCTS=10000`: 4 passed in 502 s.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from local.environment import LocalEnvironment
from shared.flows.prices import CUSTOM_CHUNK, PATCH_UP_TO
from tests.fixtures.order_env import Line, OrderWorld, order_config

D = Decimal
PRODUCTS = int(os.environ.get("OROSYNC_PRICE_PRODUCTS", "1000"))
DEMO_PRODUCTS = 3  # WID-100, GAD-200, BOLT-300 in Cin7
CASE = 12
PAGE = 1000  # Cin7 products per page
SETTLE = max(180.0, PRODUCTS / 10)  # seconds for a run to settle: generous, never asserted
ORDERS: tuple[tuple[str, tuple[Line, ...]], ...] = (
    ("Acme Holdings", (("BOLT-300", "each", 400, "0.25"),)),
    ("Acme East Store 12", (("WID-100", "case", 2, "144.00"), ("GAD-200", "each", 5, "8.00"))),
    ("Acme Retail East", (("WID-100", "each", 6, "12.00"),)),
)
ORDERS_DURING_RUN = 10


def sku(n: int) -> str:
    return f"A-{n:05d}"


def wholesale(n: int) -> Decimal:
    return D(10) + D(n % 500) / 100


def contract(n: int) -> Decimal:
    return (wholesale(n) * D("0.95")).quantize(D("0.0001"))


def acme(n: int) -> Decimal:
    return contract(n) - D("0.5")


def wholesale_changed(n: int) -> bool:
    return n % 10 == 0


def contract_changed(n: int) -> bool:
    return n % 100 == 0


def expected_oro_writes() -> int:
    """The Wholesale step reads one page of products at a time and writes that page's differing prices: one
    batch when it has more than `PATCH_UP_TO`, else one request each."""
    writes = 0
    for start in range(1, PRODUCTS + 1, PAGE):
        records = 2 * sum(wholesale_changed(n) for n in range(start, min(start + PAGE, PRODUCTS + 1)))
        writes += (1 if records > PATCH_UP_TO else records) if records else 0
    return writes


def service_calls(world: OrderWorld) -> int:
    key = world.env.cin7_credentials["application_key"]
    return int(world.cin7_stats()["calls_by_application"].get(key, 0))


def oro_price_writes(world: OrderWorld) -> int:
    by_endpoint = world.oro_ctl("GET", "stats")["by_endpoint"]
    return sum(n for e, n in by_endpoint.items() if "productprices" in e and not e.startswith("GET"))


def run_prices(world: OrderWorld) -> None:
    assert world.env.runtime is not None
    world.env.runtime.fire("price_sync")
    world.env.wait_until_settled(SETTLE)


def seed_prices(world: OrderWorld, price_list: str, price: dict[int, Decimal]) -> None:
    world.oro_ctl(
        "POST",
        "product-prices",
        {
            "priceList": price_list,
            "prices": [
                {"sku": sku(n), "unit": unit, "quantity": 1, "value": str(value * factor), "currency": "USD"}
                for n, value in price.items()
                for unit, factor in (("each", 1), ("case", CASE))
            ],
        },
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("price-scale")
    config = order_config(
        workdir,
        **{
            "erp.applications.orders.calls_per_minute": 55,
            "erp.applications.orders.burst": 5,
            "erp.applications.orders.limit_per_minute": 60,
            "erp.applications.orders.reserve": 2,
        },
    )
    env = LocalEnvironment(
        config, workdir, run_schedules=False, aws=aws_server, cin7_options={"calls_per_minute": 60}
    )
    with env:
        env.seed()
        w = OrderWorld(env)
        # Cin7's Product/Updated webhook would add a read of its own after every product the run writes
        # (tests/integration/test_price_sync.py covers it): off, so the run's calls are its own.
        for hook in w.cin7.list_webhooks():
            if hook.Type == "Product/Updated":
                w.cin7.update_webhook(hook.model_copy(update={"IsActive": False}))
        try:
            doc = w.oro.create(
                "pricelists", {"name": "Acme contract", "priceListCurrencies": ["USD"], "active": True}
            )
            acme_list = str(doc.resources()[0].id)
            env.reconfigure(
                {
                    "price_lists": [
                        {"oro_price_list_id": "1", "erp_tier": "Wholesale", "direction": "erp_to_oro"},
                        {"oro_price_list_id": "2", "erp_tier": "Contract", "direction": "oro_to_erp"},
                        {
                            "oro_price_list_id": acme_list,
                            "erp_customer_id": w.cin7_customer("Acme Holdings"),
                            "direction": "oro_to_erp",
                        },
                    ]
                }
            )
            # Warm-up: each account and SKU looked up once (cached); a price run over the demo (the tier
            # list cached, the Wholesale watermark moved, the demo's Contract prices recorded).
            with w.new_orders_status("pending"):
                for customer, lines in ORDERS:
                    w.place(customer, lines)
                w.settle(SETTLE)
            run_prices(w)
            # The catalogue, seeded in bulk: Cin7 products with both tiers, Oro products (each + case) with
            # their prices in the three lists, and the unit mappings deployed.
            numbers = range(1, PRODUCTS + 1)
            w.cin7_ctl(
                "POST",
                "products",
                {
                    "products": [
                        {
                            "SKU": sku(n),
                            "Name": f"Scale {n}",
                            "PriceTiers": {
                                "Wholesale": str(wholesale(n)),
                                "Contract": str(contract(n) + (1 if contract_changed(n) else 0)),
                            },
                        }
                        for n in numbers
                    ]
                },
            )
            w.oro_ctl(
                "POST",
                "products",
                {
                    "products": [
                        {"sku": sku(n), "units": [["each", "1"], ["case", str(CASE)]]} for n in numbers
                    ]
                },
            )
            seed_prices(w, "1", {n: wholesale(n) + (1 if wholesale_changed(n) else 0) for n in numbers})
            seed_prices(w, "2", {n: contract(n) for n in numbers})
            seed_prices(w, acme_list, {n: acme(n) for n in numbers})
            env.reconfigure(
                {
                    "units": {
                        sku(n): {
                            "each": {"erp_sku": sku(n), "factor": 1},
                            "case": {"erp_sku": sku(n), "factor": CASE},
                        }
                        for n in numbers
                    }
                }
            )
            yield w
        finally:
            w.close()


@dataclass
class Run:
    erp_calls: int  # with the service's key, during the run (orders included)
    calls_by_endpoint: dict[str, int]
    throttled: int
    oro_writes: int
    orders: list[str]
    prices_queue_busy: list[bool]  # whether the run still had work queued as each order was placed


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


@pytest.fixture(scope="module")
def first_run(world: OrderWorld) -> Run:
    """The catalogue's first run, with orders placed while it is under way."""
    assert world.env.runtime is not None
    stats, calls, writes = world.cin7_stats(), service_calls(world), oro_price_writes(world)
    orders, busy = [], []
    with world.new_orders_status("pending"):
        world.env.runtime.fire("price_sync")
        for n in range(ORDERS_DURING_RUN):
            time.sleep(0.3)
            busy.append(world.env.runtime.queue_depths()["prices"] > 0)
            orders.append(world.place(*ORDERS[n % len(ORDERS)]))
        world.settle(SETTLE)
    after = world.cin7_stats()
    return Run(
        erp_calls=service_calls(world) - calls,
        calls_by_endpoint=_delta(after["calls"], stats["calls"]),
        throttled=after["throttled"] - stats["throttled"],
        oro_writes=oro_price_writes(world) - writes,
        orders=orders,
        prices_queue_busy=busy,
    )


def test_a_run_costs_the_batching_bound_in_erp_calls(world: OrderWorld, first_run: Run) -> None:
    wholesale_pages = math.ceil(PRODUCTS / PAGE)
    contract_pages = math.ceil((PRODUCTS + DEMO_PRODUCTS) / PAGE)
    puts = sum(contract_changed(n) for n in range(1, PRODUCTS + 1))
    custom = math.ceil(PRODUCTS / CUSTOM_CHUNK)
    order_calls = sum(sum(world.erp_calls(order)) for order in first_run.orders)
    assert first_run.calls_by_endpoint.get("GET /product") == wholesale_pages + contract_pages
    assert first_run.calls_by_endpoint.get("PUT /product") == puts
    assert first_run.calls_by_endpoint.get("POST /custom-prices") == custom
    assert "GET /ref/pricetier" not in {k.lower() for k in first_run.calls_by_endpoint}  # cached
    assert first_run.erp_calls == wholesale_pages + contract_pages + puts + custom + order_calls


def test_a_run_writes_only_the_changed_prices_in_batches(world: OrderWorld, first_run: Run) -> None:
    assert first_run.oro_writes == expected_oro_writes()
    sample = sorted({1, 2, 10, 100, PRODUCTS // 2, PRODUCTS - 1, PRODUCTS})
    wanted = {sku(n) for n in sample}
    got = {
        (p.product_sku, p.unit): p.value
        for p in world.oro.iter_product_prices("1")
        if p.product_sku in wanted and p.quantity == 1
    }
    for n in sample:
        assert got[(sku(n), "each")] == wholesale(n), n
        assert got[(sku(n), "case")] == wholesale(n) * CASE, n
    for n in (100, PRODUCTS // 2, PRODUCTS):
        assert world.cin7.get_product_by_sku(sku(n), include_bom=False).tier_price(2) == contract(n), n
    customer = world.cin7.get_customer(world.cin7_customer("Acme Holdings"))
    held = {p.ProductSKU: p.Price for p in customer.ProductPrices}
    assert sum(1 for s in held if s.startswith("A-")) == PRODUCTS
    assert held[sku(PRODUCTS)] == acme(PRODUCTS)


def test_orders_placed_during_the_run_are_each_created_once_without_a_throttle(
    world: OrderWorld, first_run: Run
) -> None:
    assert all(first_run.prices_queue_busy), "the run ended before every order was placed"
    sales = world.cin7_stats()["sales_by_external_id"]
    for order in first_run.orders:
        assert sales.get(world.external_id(order)) == 1, order
        assert world.erp_calls(order) == [2], order
    assert first_run.throttled == 0


def test_a_second_run_with_nothing_changed_writes_nothing(world: OrderWorld, first_run: Run) -> None:
    writes, calls = oro_price_writes(world), service_calls(world)
    run_prices(world)
    assert oro_price_writes(world) == writes
    # only the Wholesale read of the products changed since the last run (the Contract PUTs among them)
    assert service_calls(world) - calls == 1
