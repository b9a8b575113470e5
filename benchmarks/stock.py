"""The stock flow's figures (issue 9): a catalogue run and the webhook fast path, on the whole local service.

`--stock-skus` generated SKUs (20,000 by default) at two locations, each sold in Oro by the each and by the
case of 12, with the config's own ERP budget (55 calls a minute, burst 5, reserve 2 for bulk flows) against
Cin7's real 60 calls a minute (not time-compressed: the run reads 41 pages, under a minute of budget,
and the rest of its time is the local machine's). In order:

1. warm-up: one order per demo account (their ERP look-ups cached), `--stock-orders` orders placed idle (the
   latency baseline), and a run over the demo SKUs (their stock pushed);
2. the catalogue seeded in bulk in both sandboxes (Oro levels 0, in stock) and its unit mappings deployed;
3. `stock_run_*`: the first run over the catalogue, from firing `stock_sync` until the service has settled,
   with `--stock-orders` orders placed while it runs; every SKU changed, so every SKU is written;
4. `stock_rerun_oro_writes`: a second run, nothing changed;
5. `stock_change_to_oro_seconds`: `--stock-adjustments` stock adjustments made one at a time through the Cin7
   API (`POST /stockadjustment`, COMPLETED), each timed until the Oro level shows the new value (webhook →
   `stock_refresh` → Oro).

The orders placed during the run arrive in Oro as `pending` and become DRAFT sales: a draft allocates no
stock, so Cin7 fires no stock webhook for them and the run's ERP calls and Oro writes are its own.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import httpx

from local.environment import LocalEnvironment, OrderLineSpec
from shared.config import Config
from shared.flows.stock import CHUNK, PAGE_LIMIT

LOCATIONS = ("Main Warehouse", "Sydney DC")
CASE = 12
ORDERS: tuple[tuple[str, tuple[OrderLineSpec, ...]], ...] = (
    ("Acme Holdings", (("BOLT-300", "each", Decimal(400), Decimal("0.25")),)),
    (
        "Acme East Store 12",
        (
            ("WID-100", "case", Decimal(2), Decimal("144.00")),
            ("GAD-200", "each", Decimal(5), Decimal("8.00")),
        ),
    ),
    ("Acme Retail East", (("WID-100", "each", Decimal(6), Decimal("12.00")),)),
)
# Between orders, idle and during the run alike: 24 orders a minute, within what the budget serves (55 calls a
# minute at 2 calls an order), so a latency measures the service, not a queue of orders waiting for tokens.
ORDER_PACE_SECONDS = 2.5
REFILL_SECONDS = 6  # the budget's bucket of 5 refills at 55 a minute in about 5.5 s


class StockBenchmarkFailed(Exception):
    pass


def sku(n: int) -> str:
    # "A-…" sorts before the demo SKUs, so each push of 100 SKUs holds generated SKUs only.
    return f"A-{n:05d}"


def on_hand(n: int) -> tuple[int, int]:
    """What the seed puts at Main Warehouse and Sydney DC: varied, never 0 in total."""
    return 100 + (n * 37) % 900, (n * 13) % 50


def each_level(total: int) -> Decimal:
    """The example config's rule: 5% held back, whole eaches shown."""
    return (Decimal(total) * 95 / 100).to_integral_value(ROUND_FLOOR)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class StockFigures:
    skus: int
    rows: int
    run_erp_calls: int  # the run's own: availability pages and the webhook check
    run_seconds: float
    run_oro_writes: int
    rerun_oro_writes: int
    rerun_erp_calls: int
    orders: int
    order_erp_calls: int
    throttles: int
    idle_latency: list[float]
    run_latency: list[float]
    change_latency: list[float]
    webhook_first_try_seconds: float
    seconds: float
    busy_after_orders: bool
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def render(self) -> str:
        pages = math.ceil(self.rows / PAGE_LIMIT)
        batches = math.ceil(self.skus / CHUNK)
        writes = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_endpoint.items())) or "none"
        change = self.change_latency
        return "\n".join(
            [
                f"# stock: {self.skus} SKUs x {len(LOCATIONS)} locations = {self.rows} availability rows; "
                "the config's ERP budget (55/min, burst 5, reserve 2) against Cin7's real 60 calls/min",
                f"# stock_run_erp_calls: calls on the service's key by the first run: {pages} pages + 1 check "
                f"of the fast path's webhook (the {self.orders} orders placed meanwhile made "
                f"{self.order_erp_calls} more, not counted)",
                f"stock_run_erp_calls: {self.run_erp_calls} calls (bound ceil(rows/{PAGE_LIMIT}) = {pages}, "
                "+ 1 webhook check)",
                f"# stock_run_oro_writes: PATCH requests to Oro inventory levels and products ({writes}); every "
                f"SKU changed (Oro held 0), one batch per {CHUNK} SKUs holding both units",
                f"stock_run_oro_writes: {self.run_oro_writes} requests (bound ceil(changed SKUs/{CHUNK}) = "
                f"{batches})",
                "# stock_run_seconds: wall time of that run, from firing stock_sync until everything settled "
                "(pages, plan, pushes, batch checks)",
                f"stock_run_seconds: {self.run_seconds:.1f} s",
                f"# stock_rerun_oro_writes: a second run with nothing changed ({self.rerun_erp_calls} ERP calls)",
                f"stock_rerun_oro_writes: {self.rerun_oro_writes} requests",
                f"# orders_during_stock_run_throttles: 429/503 answers from Cin7 while {self.orders} orders "
                f"(DRAFT sales) were placed {ORDER_PACE_SECONDS:g} s apart during the run (still under way "
                f"after the last: {'yes' if self.busy_after_orders else 'NO'}); their latency, "
                "placed to processed, p50/max: "
                f"{percentile(self.run_latency, 50):.2f}/{max(self.run_latency):.2f} s during the run, "
                f"{percentile(self.idle_latency, 50):.2f}/{max(self.idle_latency):.2f} s idle",
                f"orders_during_stock_run_throttles: {self.throttles} responses",
                f"# stock_change_to_oro_seconds: {len(change)} COMPLETED stock adjustments through the Cin7 "
                "API, one at a time, each until the Oro level showed the new value (webhook path)",
                f"# Cin7 tries a webhook about a minute after the event; the local environment compresses that "
                f"to {self.webhook_first_try_seconds:g} s, so in production add about "
                f"{60 - self.webhook_first_try_seconds:g} s (and if the first try fails, Cin7's next tries "
                "are minutes apart: the 15-minute run is the floor)",
                f"stock_change_to_oro_seconds_p50: {percentile(change, 50):.2f} s",
                f"stock_change_to_oro_seconds_p95: {percentile(change, 95):.2f} s",
                f"# stock total {self.seconds:.0f} s",
            ]
        )


class _Bench:
    def __init__(self, env: LocalEnvironment) -> None:
        assert env.oro and env.cin7 and env.runtime
        self.env = env
        self.oro = env.oro_client()
        self.cin7 = env.cin7_client()
        self.oro_control = httpx.Client(base_url=env.oro.control_url.rstrip("/") + "/", timeout=120)

    def close(self) -> None:
        self.oro_control.close()
        self.oro.close()
        self.cin7.close()

    def oro_ctl(self, method: str, path: str, body: Any = None) -> Any:
        response = self.oro_control.request(method, path, json=body)
        if response.status_code >= 300:
            raise StockBenchmarkFailed(f"oro control {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    @contextlib.contextmanager
    def pending_orders(self) -> Iterator[None]:
        before = self.oro_ctl("GET", "config")["default_internal_status"]
        self.oro_ctl("POST", "config", {"default_internal_status": "pending"})
        try:
            yield
        finally:
            self.oro_ctl("POST", "config", {"default_internal_status": before})

    def oro_writes(self) -> dict[str, int]:
        by_endpoint = self.oro_ctl("GET", "stats")["by_endpoint"]
        return {
            e: n
            for e, n in by_endpoint.items()
            if e.startswith("PATCH") and ("inventorylevels" in e or "products" in e)
        }

    def service_calls(self) -> int:
        assert self.env.cin7
        key = self.env.cin7_credentials["application_key"]
        return int(self.env.cin7.stats()["calls_by_application"].get(key, 0))

    def run_stock(self, timeout: float) -> float:
        assert self.env.runtime
        started = time.monotonic()
        self.env.runtime.fire("stock_sync")
        self.env.wait_until_settled(timeout)
        return time.monotonic() - started

    def place_paced(self, count: int) -> list[tuple[str, float]]:
        placed = []
        for n in range(count):
            if n:
                time.sleep(ORDER_PACE_SECONDS)
            at = time.time()
            placed.append((self.env.place_order(*ORDERS[n % len(ORDERS)]), at))
        return placed

    def stock_busy(self) -> bool:
        assert self.env.runtime
        return self.env.runtime.queue_depths()["stock"] > 0

    def latencies(self, placed: Sequence[tuple[str, float]]) -> list[float]:
        """Placed (the POST to Oro) to processed (the service's event), each order created once in Cin7."""
        assert self.env.cin7
        store = self.env.state()
        prefix = self.env.config.orders.external_id_prefix
        by_external = self.env.cin7.stats()["sales_by_external_id"]
        out = []
        for order_id, at in placed:
            done = [e["at"] for e in store.timeline(order_id) if e["kind"] == "processed"]
            if not done or by_external.get(f"{prefix}{order_id}", 0) != 1:
                raise StockBenchmarkFailed(f"order {order_id} was not created once in Cin7")
            out.append(datetime.fromisoformat(str(done[0]).replace("Z", "+00:00")).timestamp() - at)
        return out

    def before_erp(self, placed: Sequence[tuple[str, float]]) -> list[float]:
        """Placed to `gated` (the order flow has read the order and is about to call Cin7): the part of the
        latency that is intake, queue and Oro, no ERP call and no ERP budget in it."""
        store = self.env.state()
        out = []
        for order_id, at in placed:
            gated = [e["at"] for e in store.timeline(order_id) if e["kind"] == "gated"]
            if gated:
                out.append(datetime.fromisoformat(str(gated[0]).replace("Z", "+00:00")).timestamp() - at)
        return out

    def order_calls(self, placed: Sequence[tuple[str, float]]) -> int:
        store = self.env.state()
        return sum(
            int(e["erp_calls"])
            for order_id, _ in placed
            for e in store.timeline(order_id)
            if e["kind"] == "processed"
        )

    def seed_catalogue(self, skus: int) -> None:
        assert self.env.cin7
        self.env.cin7.seed_stock_levels(
            [
                {
                    "SKU": sku(n),
                    "Name": f"Scale {n}",
                    "levels": dict(zip(LOCATIONS, map(str, on_hand(n)), strict=True)),
                }
                for n in range(1, skus + 1)
            ]
        )
        units = [["each", "1"], ["case", str(CASE)]]
        self.oro_ctl(
            "POST", "products", {"products": [{"sku": sku(n), "units": units} for n in range(1, skus + 1)]}
        )
        self.env.reconfigure(
            {
                "units": {
                    sku(n): {
                        "each": {"erp_sku": sku(n), "factor": 1},
                        "case": {"erp_sku": sku(n), "factor": CASE},
                    }
                    for n in range(1, skus + 1)
                }
            }
        )

    def change_to_oro(self, skus: int, count: int, timeout: float) -> list[float]:
        """`count` adjustments of generated SKUs at Main Warehouse, each timed until Oro shows it."""
        picks = sorted({1 + (k * (skus - 1)) // max(1, count - 1) for k in range(count)})
        rows, _ = self.cin7.availability_page(1, PAGE_LIMIT)
        product_ids = {r.SKU: r.ID for r in rows}
        missing = [n for n in picks if sku(n) not in product_ids]
        if missing:  # further pages (the back office's own key: not the service's budget)
            page = 2
            while missing and page <= math.ceil(2 * skus / PAGE_LIMIT) + 1:
                more, _ = self.cin7.availability_page(page, PAGE_LIMIT)
                product_ids.update({r.SKU: r.ID for r in more})
                missing = [n for n in picks if sku(n) not in product_ids]
                page += 1
        products = {p.id: p.sku for p in self.oro.iter_products([sku(n) for n in picks], with_units=False)}
        level_ids = {
            products[lv.product_id or ""]: lv.id
            for lv in self.oro.iter_inventory_levels(products)
            if lv.unit == "each"
        }
        out = []
        for k, n in enumerate(picks):
            main, sydney = on_hand(n)
            quantity = main - 20 - k  # 19 or more eaches fewer: always a new each level
            want = each_level(quantity + sydney)
            started = time.monotonic()
            self.cin7.request(
                "POST",
                "stockadjustment",
                body={
                    "EffectiveDate": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                    "Status": "COMPLETED",
                    "Account": "1400",
                    "UpdateOnHand": False,
                    "Lines": [
                        {
                            "ProductID": product_ids[sku(n)],
                            "Location": LOCATIONS[0],
                            "Quantity": quantity,
                            "UnitCost": 1,
                        }
                    ],
                },
            )
            while True:
                _, doc = self.oro.request("GET", f"inventorylevels/{level_ids[sku(n)]}")
                if Decimal(str(doc["data"]["attributes"]["quantity"])) == want:
                    break
                if time.monotonic() - started > timeout:
                    raise StockBenchmarkFailed(f"{sku(n)}: Oro never showed {want} each")
                time.sleep(0.05)
            out.append(time.monotonic() - started)
            self.env.wait_until_settled(timeout)
        return out


def run(
    base: Config,
    *,
    skus: int,
    orders: int,
    adjustments: int,
    timeout: float,
    progress: Any,
) -> StockFigures:
    started = time.monotonic()
    quiet = {"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"}
    with (
        tempfile.TemporaryDirectory(prefix="orosync-bench-stock-") as tmp,
        LocalEnvironment(
            base,
            Path(tmp),
            run_schedules=False,
            function_env=quiet,
            cin7_options={"calls_per_minute": 60},
            visibility_timeouts={"orders": 30, "stock": 30},
        ) as env,
    ):
        assert env.cin7 and env.runtime
        env.seed()
        bench = _Bench(env)
        try:
            progress("stock 1/5: warm-up orders and a run over the demo SKUs")
            with bench.pending_orders():
                for customer, lines in ORDERS:
                    env.place_order(customer, lines)
                env.wait_until_settled(timeout)
                time.sleep(REFILL_SECONDS)
                idle = bench.place_paced(orders)
                env.wait_until_settled(timeout)
            idle_latency = bench.latencies(idle)
            bench.run_stock(timeout)

            progress(f"stock 2/5: {skus} SKUs seeded in Cin7 and Oro, their unit mappings deployed")
            bench.seed_catalogue(skus)
            _, rows = bench.cin7.availability_page(1, 1)

            progress(f"stock 3/5: the first run over {rows} rows, {orders} orders placed meanwhile")
            time.sleep(REFILL_SECONDS)
            stats, calls, writes = env.cin7.stats(), bench.service_calls(), bench.oro_writes()
            with bench.pending_orders():
                run_started = time.monotonic()
                env.runtime.fire("stock_sync")
                during = bench.place_paced(orders)
                busy = bench.stock_busy()  # the run was still under way when the last order went in
                env.wait_until_settled(timeout)
                run_seconds = time.monotonic() - run_started
            after = env.cin7.stats()
            run_latency = bench.latencies(during)
            order_calls = bench.order_calls(during)
            by_endpoint = {
                k: v - writes.get(k, 0) for k, v in bench.oro_writes().items() if v - writes.get(k, 0)
            }

            progress("stock 4/5: a second run, nothing changed")
            rerun_writes, rerun_calls = bench.oro_writes(), bench.service_calls()
            bench.run_stock(timeout)
            rerun_oro = sum(bench.oro_writes().values()) - sum(rerun_writes.values())
            rerun_erp = bench.service_calls() - rerun_calls

            progress(
                f"stock 5/5: {adjustments} stock adjustments through the Cin7 API, each until Oro shows it"
            )
            change = bench.change_to_oro(skus, adjustments, timeout)
        finally:
            bench.close()
        return StockFigures(
            skus=skus,
            rows=rows,
            run_erp_calls=after["calls_by_application"].get(env.cin7_credentials["application_key"], 0)
            - calls
            - order_calls,
            run_seconds=run_seconds,
            run_oro_writes=sum(by_endpoint.values()),
            rerun_oro_writes=rerun_oro,
            rerun_erp_calls=rerun_erp,
            orders=orders,
            order_erp_calls=order_calls,
            throttles=after["throttled"] - stats["throttled"],
            idle_latency=idle_latency,
            run_latency=run_latency,
            change_latency=change,
            webhook_first_try_seconds=float(env.cin7.config["webhook_retry_unit_seconds"]),
            seconds=time.monotonic() - started,
            busy_after_orders=busy,
            by_endpoint=by_endpoint,
        )
