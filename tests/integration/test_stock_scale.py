"""Stock at catalogue scale (issue 9) through the running service, with the service's real ERP budget (55 calls a
minute, burst 5, reserve 2 for bulk flows) against Cin7's real 60 calls a minute: `OROSYNC_STOCK_SKUS`
generated SKUs (default 2,000; the issue's figure is 20,000) at two locations, each sold in Oro by the each
and by the case of 12.

- one run costs ceil(rows / 1000) ERP calls (one availability page each), plus the check that the fast
  path's webhook is still active, and nothing per SKU;
- it writes to Oro only the SKUs that changed, one batch request per 100 of them (each batch holds both
  units of its 100 SKUs); the demo SKUs, already pushed and unchanged, are not written;
- orders placed while it runs are each created in Cin7 once, at their usual 2 ERP calls, and Cin7 never
  throttles the service (the budget keeps bulk stock reads behind orders);
- a second run with nothing changed writes nothing.

The orders placed during the run arrive in Oro as `pending` and become DRAFT sales (`status_policy`): a draft
allocates no stock, so Cin7 sends no `Stock/AvailableStockLevelChanged` for them, and the fast path's
re-reads (one ERP call per SKU, plus its own Oro writes) do not mix into the run's exact counts.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import pytest

from local.aws import EmbeddedAws
from local.environment import LocalEnvironment
from shared.flows.stock import CHUNK, PATCH_UP_TO
from tests.fixtures.order_env import Line, OrderWorld, order_config

SKUS = int(os.environ.get("OROSYNC_STOCK_SKUS", "2000"))
LOCATIONS = ("Main Warehouse", "Sydney DC")
CASE = 12
SETTLE = max(120.0, SKUS / 20)  # seconds for a run to settle: generous, never asserted
# The orders placed while the run reads and pushes: the demo accounts and SKUs (all looked up and cached by
# the warm-up orders first, so each costs its steady-state 2 calls).
ORDERS: tuple[tuple[str, tuple[Line, ...]], ...] = (
    ("Acme Holdings", (("BOLT-300", "each", 400, "0.25"),)),
    ("Acme East Store 12", (("WID-100", "case", 2, "144.00"), ("GAD-200", "each", 5, "8.00"))),
    ("Acme Retail East", (("WID-100", "each", 6, "12.00"),)),
)
ORDERS_DURING_RUN = 10


def sku(n: int) -> str:
    # "A-…" sorts before the demo SKUs (BOLT-300, GAD-200, WID-100), so the run's pushes of 100 hold
    # generated SKUs only and the demo SKUs share the last one.
    return f"A-{n:05d}"


def on_hand(n: int) -> tuple[int, int]:
    """What the seed puts at Main Warehouse and Sydney DC: varied, never 0 in total."""
    return 100 + (n * 37) % 900, (n * 13) % 50


def expected_levels(n: int) -> tuple[Decimal, Decimal]:
    """(each, case) by the example config's rules, worked by hand: 5% of the total held back (the total
    is whole, so 5% of it is exact), what is left shown in whole eaches and whole cases of 12."""
    total = Decimal(sum(on_hand(n)))
    sellable = total - total * 5 / 100
    return sellable.to_integral_value(ROUND_FLOOR), (sellable / CASE).to_integral_value(ROUND_FLOOR)


def expected_oro_writes(changed: int) -> int:
    """Write requests for `changed` generated SKUs, all at the front of the sorted SKUs, 2 levels each:
    each push of `CHUNK` SKUs with more than `PATCH_UP_TO` writes sends one batch; the last push, shared
    with the unchanged demo SKUs, PATCHes its few writes one by one if it has no more than that."""
    full, rest = divmod(changed, CHUNK)
    if rest == 0:
        return full
    return full + (1 if 2 * rest > PATCH_UP_TO else 2 * rest)


def oro_writes(world: OrderWorld) -> dict[str, int]:
    """PATCH requests to inventory levels and products, by endpoint shape (`inventorylevels` is a batch,
    `inventorylevels/{id}` a single record)."""
    by_endpoint = world.oro_ctl("GET", "stats")["by_endpoint"]
    return {
        endpoint: n
        for endpoint, n in by_endpoint.items()
        if endpoint.startswith("PATCH") and ("inventorylevels" in endpoint or "products" in endpoint)
    }


def service_erp_calls(world: OrderWorld) -> int:
    key = world.env.cin7_credentials["application_key"]
    return int(world.cin7_stats()["calls_by_application"].get(key, 0))


def run_stock(world: OrderWorld) -> None:
    assert world.env.runtime is not None
    world.env.runtime.fire("stock_sync")
    world.env.wait_until_settled(SETTLE)


def oro_levels(world: OrderWorld, skus: list[str]) -> dict[tuple[str, str], Decimal]:
    products = {p.id: p.sku for p in world.oro.iter_products(skus, with_units=False)}
    return {
        (products[lv.product_id or ""], lv.unit or ""): lv.quantity
        for lv in world.oro.iter_inventory_levels(products)
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, aws_server: EmbeddedAws) -> Iterator[OrderWorld]:
    workdir = tmp_path_factory.mktemp("stock-scale")
    # The service's real budget (the example config's), not order_config's roomy one; Cin7 at its real 60.
    config = order_config(
        workdir,
        **{
            "erp.applications.orders.calls_per_minute": 55,
            "erp.applications.orders.burst": 5,
            "erp.applications.orders.limit_per_minute": 60,
            "erp.applications.orders.reserve": 2,
            "stock.fast_path": True,  # the run checks its webhook (order_config turns it off)
        },
    )
    env = LocalEnvironment(
        config, workdir, run_schedules=False, aws=aws_server, cin7_options={"calls_per_minute": 60}
    )
    with env:
        env.seed()
        w = OrderWorld(env)
        try:
            # Warm up: each account and SKU looked up once (cached), and the demo SKUs' stock pushed.
            with w.new_orders_status("pending"):
                for customer, lines in ORDERS:
                    w.place(customer, lines)
                w.settle(SETTLE)
            run_stock(w)
            # Then the catalogue: N products in Cin7 at both locations and in Oro (each + case, levels 0,
            # in stock), and their unit mappings in the service's config (a redeploy).
            w.cin7_ctl(
                "POST",
                "stock-levels",
                {
                    "products": [
                        {
                            "SKU": sku(n),
                            "Name": f"Scale {n}",
                            "levels": dict(zip(LOCATIONS, map(str, on_hand(n)), strict=True)),
                        }
                        for n in range(1, SKUS + 1)
                    ]
                },
            )
            w.oro_ctl(
                "POST",
                "products",
                {
                    "products": [
                        {"sku": sku(n), "units": [["each", "1"], ["case", str(CASE)]]}
                        for n in range(1, SKUS + 1)
                    ]
                },
            )
            env.reconfigure(
                {
                    "units": {
                        sku(n): {
                            "each": {"erp_sku": sku(n), "factor": 1},
                            "case": {"erp_sku": sku(n), "factor": CASE},
                        }
                        for n in range(1, SKUS + 1)
                    }
                }
            )
            yield w
        finally:
            w.close()


@dataclass
class Run:
    rows: int
    erp_calls: int  # with the service's key, during the run (orders included)
    calls_by_endpoint: dict[str, int]  # every key; nothing but the service called Cin7 meanwhile
    throttled: int
    oro_writes: dict[str, int]
    orders: list[str]
    stock_queue_busy: list[bool]  # whether the run still had work queued as each order was placed


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


@pytest.fixture(scope="module")
def first_run(world: OrderWorld) -> Run:
    """The catalogue's first run, with orders placed while it is under way."""
    assert world.env.runtime is not None
    _, rows = world.cin7.availability_page(1, 1)  # the back office's own key: not the service's budget
    stats, calls, writes = world.cin7_stats(), service_erp_calls(world), oro_writes(world)
    orders, busy = [], []
    with world.new_orders_status("pending"):
        world.env.runtime.fire("stock_sync")
        for n in range(ORDERS_DURING_RUN):
            time.sleep(0.3)
            busy.append(world.env.runtime.queue_depths()["stock"] > 0)
            orders.append(world.place(*ORDERS[n % len(ORDERS)]))
        world.settle(SETTLE)
    after = world.cin7_stats()
    return Run(
        rows=rows,
        erp_calls=service_erp_calls(world) - calls,
        calls_by_endpoint=_delta(after["calls"], stats["calls"]),
        throttled=after["throttled"] - stats["throttled"],
        oro_writes=_delta(oro_writes(world), writes),
        orders=orders,
        stock_queue_busy=busy,
    )


def test_a_run_costs_one_erp_call_per_1000_rows_and_the_webhook_check(
    world: OrderWorld, first_run: Run
) -> None:
    assert first_run.rows >= len(LOCATIONS) * SKUS
    pages = math.ceil(first_run.rows / 1000)
    order_calls = sum(sum(world.erp_calls(order)) for order in first_run.orders)
    assert first_run.calls_by_endpoint.get("GET /ref/productavailability") == pages
    assert first_run.calls_by_endpoint.get("GET /webhooks") == 1  # the fast path's webhook check
    # With the service's key: the pages, the webhook check and the orders' own calls, nothing else.
    assert first_run.erp_calls == pages + 1 + order_calls


def test_a_run_writes_the_changed_skus_in_batches_of_100_and_nothing_else(
    world: OrderWorld, first_run: Run
) -> None:
    # Every generated SKU changed (Oro held 0); all stay in stock, so no status is written; the demo SKUs
    # were pushed before and have not changed.
    expected = expected_oro_writes(SKUS)
    assert sum(first_run.oro_writes.values()) == expected
    if SKUS % CHUNK == 0:
        assert first_run.oro_writes == {"PATCH inventorylevels": SKUS // CHUNK}
    sample = sorted({sku(n) for n in (1, 2, 3, SKUS // 3, SKUS // 2, SKUS - 1, SKUS)})
    got = oro_levels(world, sample)
    for name in sample:
        each, case = expected_levels(int(name[2:]))
        assert (got[(name, "each")], got[(name, "case")]) == (each, case), name
    assert {p.inventory_status for p in world.oro.iter_products(sample, with_units=False)} == {"in_stock"}


def test_orders_placed_during_the_run_are_each_created_once_without_a_throttle(
    world: OrderWorld, first_run: Run
) -> None:
    assert all(first_run.stock_queue_busy), "the run ended before every order was placed"
    sales = world.cin7_stats()["sales_by_external_id"]
    for order in first_run.orders:
        assert sales.get(world.external_id(order)) == 1, order
        assert world.erp_calls(order) == [2], order
    assert first_run.throttled == 0


def test_a_second_run_with_nothing_changed_writes_nothing(world: OrderWorld, first_run: Run) -> None:
    writes, calls = oro_writes(world), service_erp_calls(world)
    run_stock(world)
    assert oro_writes(world) == writes
    assert service_erp_calls(world) - calls == math.ceil(first_run.rows / 1000) + 1
