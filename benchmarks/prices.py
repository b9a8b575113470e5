"""The price flow's figures (issue 10): a run over a catalogue and 3 price lists, on the whole local service.

`--price-products` generated products (10,000 by default), each sold in Oro by the each and by the case of 12,
with the config's own ERP budget (55 calls a minute, burst 5, reserve 2 for bulk flows) against Cin7's real
60 calls a minute (not time-compressed), and 3 price lists:

- Wholesale (Oro list 1) ← Cin7 tier "Wholesale": a tenth of the products (every 10th) differ in Oro;
- Contract (Oro list 2) → Cin7 tier "Contract": a hundredth (every 100th) differ in Cin7 (one PUT each:
  Cin7 updates one product a call);
- "Acme contract" (a new Oro list) → Acme Holdings' own Cin7 prices (`/custom-prices`): every product, never
  sent before.

In order:

1. warm-up: the Acme list created and the 3 mappings deployed, one order per demo account (their ERP look-ups
   cached), `--price-orders` orders placed idle (the latency baseline), and a price run over the demo (the
   tier list cached, the Wholesale watermark moved);
2. the catalogue seeded in bulk in both sandboxes, with its prices in the 3 lists, and its unit mappings
   deployed;
3. `price_run_*`: the first run over the catalogue, from firing `price_sync` until the service has settled,
   with `--price-orders` orders placed while it runs;
4. `price_rerun_*`: a second run, nothing changed.

The orders placed during the run arrive in Oro as `pending` and become DRAFT sales (as in benchmarks/stock.py).
Cin7's `Product/Updated` webhook is switched off first: it would add a read of the changed products after the
run's own PUTs, outside the bound. So is product data (the example config has Oro own product names): each run
would also rename every seeded Cin7 product after its Oro name, a PUT each.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.stock import ORDER_PACE_SECONDS, ORDERS, REFILL_SECONDS, _Bench, percentile
from local.environment import LocalEnvironment
from shared.config import Config, parse_config
from shared.flows.prices import CUSTOM_CHUNK, PAGE_LIMIT

CASE = 12
DEMO_PRODUCTS = 3  # WID-100, GAD-200, BOLT-300 in Cin7


def sku(n: int) -> str:
    return f"A-{n:05d}"


def wholesale(n: int) -> Decimal:
    return Decimal(10) + Decimal(n % 500) / 100


def contract(n: int) -> Decimal:
    return (wholesale(n) * Decimal("0.95")).quantize(Decimal("0.0001"))


def acme(n: int) -> Decimal:
    return contract(n) - Decimal("0.5")


@dataclass
class PriceFigures:
    products: int
    wholesale_pages: int
    contract_pages: int
    puts: int
    custom_calls: int
    run_erp_calls: int  # the run's own, the orders' calls left out
    run_seconds: float
    run_oro_writes: int
    oro_prices_changed: int
    rerun_erp_calls: int
    rerun_oro_writes: int
    orders: int
    order_erp_calls: int
    throttles: int
    idle_latency: list[float]
    run_latency: list[float]
    idle_before_erp: list[float]
    run_before_erp: list[float]
    busy_after_orders: bool
    seconds: float
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def render(self) -> str:
        bound = self.wholesale_pages + self.contract_pages + self.puts + self.custom_calls
        calls = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_endpoint.items())) or "none"
        run, idle = self.run_latency, self.idle_latency
        return "\n".join(
            [
                f"# prices: {self.products} products x 3 price lists (Wholesale Cin7 -> Oro, Contract Oro -> "
                "Cin7 tier, Acme contract Oro -> Cin7 customer prices); the config's ERP budget (55/min, burst "
                "5, reserve 2) against Cin7's real 60 calls/min",
                f"# price_run_erp_calls: calls on the service's key by the first run ({calls}; the "
                f"{self.orders} orders placed meanwhile made {self.order_erp_calls} more, not counted); the "
                "tier list was cached by the warm-up run",
                f"price_run_erp_calls: {self.run_erp_calls} calls (bound {bound} = Wholesale "
                f"ceil({self.products}/{PAGE_LIMIT}) = {self.wholesale_pages} pages + Contract "
                f"ceil({self.products + DEMO_PRODUCTS} Cin7 products/{PAGE_LIMIT}) = {self.contract_pages} "
                f"pages + {self.puts} PUTs (one per changed product) + Acme ceil({self.products} rows/"
                f"{CUSTOM_CHUNK}) = {self.custom_calls})",
                f"# price_run_oro_writes: write requests to Oro productprices; {self.oro_prices_changed} "
                f"Wholesale prices differed (both units of every 10th product), one batch per page of "
                f"{PAGE_LIMIT} products",
                f"price_run_oro_writes: {self.run_oro_writes} requests (bound {self.wholesale_pages})",
                "# price_run_seconds: wall time of that run, from firing price_sync until everything settled "
                "(pages, Oro batches and their checks, PUTs, custom prices)",
                f"price_run_seconds: {self.run_seconds:.1f} s",
                "# price_rerun_erp_calls: a second run with nothing changed (bound 1: the Wholesale read of "
                "the products changed since the last run, the Contract PUTs among them)",
                f"price_rerun_erp_calls: {self.rerun_erp_calls} calls",
                f"price_rerun_oro_writes: {self.rerun_oro_writes} requests",
                f"# orders_during_price_run_throttles: 429/503 answers from Cin7 while {self.orders} orders "
                f"(DRAFT sales) were placed {ORDER_PACE_SECONDS:g} s apart during the run (still under way "
                f"after the last: {'yes' if self.busy_after_orders else 'NO'}); their latency, placed to "
                f"processed, p50/max: {percentile(run, 50):.2f}/{max(run):.2f} s during the run, "
                f"{percentile(idle, 50):.2f}/{max(idle):.2f} s idle",
                f"orders_during_price_run_throttles: {self.throttles} responses",
                "# orders_during_price_run_latency: placed in Oro to processed by order_sync, p50 during the "
                f"run beside the same orders idle; of it, before the first Cin7 call (intake, queue, the Oro "
                f"read: no ERP budget in it) p50 {percentile(self.run_before_erp, 50):.2f} s during the run, "
                f"{percentile(self.idle_before_erp, 50):.2f} s idle. One interpreter runs every function, "
                "both sandboxes and the embedded AWS here, so the run's CPU (serialising and parsing "
                "1,000-product pages) slows the orders' every step; in AWS they are separate Lambdas",
                f"orders_during_price_run_latency: {percentile(run, 50):.2f} s (idle {percentile(idle, 50):.2f} s)",
                f"# prices total {self.seconds:.0f} s",
            ]
        )


def _seed_list(bench: _Bench, price_list: str, prices: dict[int, Decimal]) -> None:
    bench.oro_ctl(
        "POST",
        "product-prices",
        {
            "priceList": price_list,
            "prices": [
                {"sku": sku(n), "unit": unit, "quantity": 1, "value": str(value * factor), "currency": "USD"}
                for n, value in prices.items()
                for unit, factor in (("each", 1), ("case", CASE))
            ],
        },
    )


def seed_catalogue(env: LocalEnvironment, bench: _Bench, products: int, acme_list: str) -> None:
    assert env.cin7
    numbers = range(1, products + 1)
    env.cin7.seed_products(
        [
            {
                "SKU": sku(n),
                "Name": f"Scale {n}",
                "PriceTiers": {
                    "Wholesale": str(wholesale(n)),
                    "Contract": str(contract(n) + (1 if n % 100 == 0 else 0)),
                },
            }
            for n in numbers
        ]
    )
    units = [["each", "1"], ["case", str(CASE)]]
    bench.oro_ctl("POST", "products", {"products": [{"sku": sku(n), "units": units} for n in numbers]})
    _seed_list(bench, "1", {n: wholesale(n) + (1 if n % 10 == 0 else 0) for n in numbers})
    _seed_list(bench, "2", {n: contract(n) for n in numbers})
    _seed_list(bench, acme_list, {n: acme(n) for n in numbers})
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


def oro_price_writes(bench: _Bench) -> dict[str, int]:
    by_endpoint = bench.oro_ctl("GET", "stats")["by_endpoint"]
    return {e: n for e, n in by_endpoint.items() if "productprices" in e and not e.startswith("GET")}


def run(base: Config, *, products: int, orders: int, timeout: float, progress: Any) -> PriceFigures:
    started = time.monotonic()
    # Product data off (nothing Oro-owned): with the example's `name: oro`, each price run would also queue a
    # product step renaming every seeded Cin7 product after Oro's name, a PUT each, outside the bound.
    data = base.model_dump(mode="json")
    data["products"]["owner"] = {}
    base = parse_config(data, "price benchmark config")
    quiet = {"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"}
    with (
        tempfile.TemporaryDirectory(prefix="orosync-bench-prices-") as tmp,
        LocalEnvironment(
            base,
            Path(tmp),
            run_schedules=False,
            function_env=quiet,
            cin7_options={"calls_per_minute": 60},
            visibility_timeouts={"orders": 30, "prices": 60},
        ) as env,
    ):
        assert env.cin7 and env.runtime
        env.seed()
        bench = _Bench(env)
        try:
            # Cin7's Product/Updated webhook (active in the local environment) would queue a read of the changed
            # products a second after each PUT the run makes: calls the bound does not count. Off, as in
            # tests/integration/test_price_scale.py, so the run's calls are its own.
            for hook in bench.cin7.list_webhooks():
                if hook.Type == "Product/Updated":
                    bench.cin7.update_webhook(hook.model_copy(update={"IsActive": False}))
            progress("prices 1/4: the 3 mappings deployed, warm-up orders and a run over the demo")
            doc = bench.oro.create(
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
                            "erp_customer_id": str(env.ids["cin7"]["customers"]["Acme Holdings"]),
                            "direction": "oro_to_erp",
                        },
                    ]
                }
            )
            with bench.pending_orders():
                for customer, lines in ORDERS:
                    env.place_order(customer, lines)
                env.wait_until_settled(timeout)
                time.sleep(REFILL_SECONDS)
                idle = bench.place_paced(orders)
                env.wait_until_settled(timeout)
            idle_latency, idle_before = bench.latencies(idle), bench.before_erp(idle)
            env.runtime.fire("price_sync")
            env.wait_until_settled(timeout)

            progress(f"prices 2/4: {products} products seeded in Cin7 and Oro with 3 lists, units deployed")
            seed_catalogue(env, bench, products, acme_list)

            progress(
                f"prices 3/4: the first run over {products} products x 3 lists, {orders} orders meanwhile"
            )
            time.sleep(REFILL_SECONDS)
            stats, calls, writes = env.cin7.stats(), bench.service_calls(), oro_price_writes(bench)
            with bench.pending_orders():
                run_started = time.monotonic()
                env.runtime.fire("price_sync")
                during = bench.place_paced(orders)
                busy = env.runtime.queue_depths()["prices"] > 0
                env.wait_until_settled(timeout)
                run_seconds = time.monotonic() - run_started
            after = env.cin7.stats()
            run_latency, run_before = bench.latencies(during), bench.before_erp(during)
            order_calls = bench.order_calls(during)
            run_calls = bench.service_calls() - calls - order_calls
            by_endpoint = {
                k: v - stats["calls"].get(k, 0)
                for k, v in after["calls"].items()
                if v - stats["calls"].get(k, 0) and k not in ("POST /sale", "POST /sale/order")
            }
            run_writes = sum(oro_price_writes(bench).values()) - sum(writes.values())

            progress("prices 4/4: a second run, nothing changed")
            rerun_writes, rerun_calls = oro_price_writes(bench), bench.service_calls()
            env.runtime.fire("price_sync")
            env.wait_until_settled(timeout)
            rerun_oro = sum(oro_price_writes(bench).values()) - sum(rerun_writes.values())
            rerun_erp = bench.service_calls() - rerun_calls
        finally:
            bench.close()
        return PriceFigures(
            products=products,
            wholesale_pages=math.ceil(products / PAGE_LIMIT),
            contract_pages=math.ceil((products + DEMO_PRODUCTS) / PAGE_LIMIT),
            puts=products // 100,
            custom_calls=math.ceil(products / CUSTOM_CHUNK),
            run_erp_calls=run_calls,
            run_seconds=run_seconds,
            run_oro_writes=run_writes,
            oro_prices_changed=2 * (products // 10),
            rerun_erp_calls=rerun_erp,
            rerun_oro_writes=rerun_oro,
            orders=orders,
            order_erp_calls=order_calls,
            throttles=after["throttled"] - stats["throttled"],
            idle_latency=idle_latency,
            run_latency=run_latency,
            idle_before_erp=idle_before,
            run_before_erp=run_before,
            busy_after_orders=busy,
            seconds=time.monotonic() - started,
            by_endpoint=by_endpoint,
        )
