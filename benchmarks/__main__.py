"""`make bench` (`python -m benchmarks`): the order, stock and price flows' figures on this laptop, printed, never judged.

Runs the whole service locally (embedded AWS, both sandboxes, the local runtime: webhook → SQS → order_sync
→ Cin7 sandbox) with Cin7's 60 calls a minute *time-compressed*: the sandbox allows 60 calls per
`--window-seconds` (20 by default, so three times faster than real), and the service's rate budget is set to
the same rate (60 × 60 / window calls a minute). Then:

1. `erp_calls_per_order`: after one warm-up order (which looks up the ERP customer, tax rules and prices once;
   all of them are cached), `--orders` orders one after another; the ERP calls made with the service's own
   API application key (the sandbox counts per key; seeding and checks use another key) divided by the
   number of orders. Bound: 2 (sale header + lines).
2. `orders_per_minute`: `--load-orders` orders placed at once, drained by the service against the compressed
   limit; the sustained rate between the 10th completed order and the 90th percentile (leaving out the
   bucket's initial burst and any tail), scaled back to a real minute: orders per wall second × window
   seconds. Bound: 30 (60 calls a minute / 2 calls an order).
3. `erp_throttle_responses`: the 429/503 answers Cin7 gave the service during run 2 (sandbox stats).

Then the stock flow's figures, in an environment of their own (benchmarks/stock.py): a 20,000-SKU run
(`stock_run_*`), a second run (`stock_rerun_oro_writes`), orders placed during the run
(`orders_during_stock_run_throttles`) and the webhook path (`stock_change_to_oro_seconds_p50/_p95`).
Then the price flow's (benchmarks/prices.py): a 10,000-product run over 3 price lists (`price_run_*`), a
second run (`price_rerun_*`) and orders placed during the run (`orders_during_price_run_throttles`).
`--only orders`, `--only stock` or `--only prices` runs one part.

Output: `name: value unit` lines, with `#` comment lines saying how each was measured. Exit 0 unless the
run itself failed (an order not synced to exactly one sale, a timeout, an error); no figure is judged.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks import prices, stock
from local.environment import LocalEnvironment, OrderLineSpec
from shared.config import Config, load_config, parse_config
from shared.errors import ConfigError
from shared.observability import logger

CALLS_PER_REAL_MINUTE = 60  # Cin7's limit per API application
STEADY_STATE_CALLS = 2  # sale header + sale order lines

# One warm-up order touches every ERP SKU the measured orders use, so their look-ups are all cached.
WARM_UP: tuple[OrderLineSpec, ...] = (
    ("WID-100", "each", Decimal(2), Decimal("12.00")),
    ("GAD-200", "each", Decimal(3), Decimal("8.00")),
    ("BOLT-300", "each", Decimal(400), Decimal("0.25")),
)
ORDER_MIX: tuple[tuple[str, tuple[OrderLineSpec, ...]], ...] = (
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


class BenchmarkFailed(Exception):
    pass


@dataclass
class Figures:
    window_seconds: float
    budget_calls_per_minute: int  # the configured budget's refill rate, in real minutes
    warm_up_calls: int
    calls: int
    orders: int
    load_orders: int
    wall_rate: float  # orders per wall-clock second, steady state
    steady_orders: int
    steady_seconds: float
    throttled: int
    throttled_by_status: dict[str, int]
    load_calls: int
    seconds: float

    @property
    def calls_per_order(self) -> float:
        return self.calls / self.orders

    @property
    def orders_per_minute(self) -> float:
        # wall rate × (real seconds per wall second) × 60 = wall rate × 60 / (60 / window)
        return self.wall_rate * self.window_seconds

    def render(self) -> str:
        compression = CALLS_PER_REAL_MINUTE / self.window_seconds
        status = ", ".join(f"{k}: {v}" for k, v in sorted(self.throttled_by_status.items())) or "none"
        bound = CALLS_PER_REAL_MINUTE / STEADY_STATE_CALLS
        budget_bound = self.budget_calls_per_minute / STEADY_STATE_CALLS
        return "\n".join(
            [
                f"# Cin7 limit time-compressed: {CALLS_PER_REAL_MINUTE} calls per {self.window_seconds:g} s "
                f"instead of 60 s (x{compression:g}); the service's rate budget compressed alike",
                f"# erp_calls_per_order: {self.orders} orders after a warm-up order "
                f"({self.warm_up_calls} calls), calls on the service's API key / orders; bound {STEADY_STATE_CALLS}",
                f"erp_calls_per_order: {self.calls_per_order:.2f} calls/order",
                f"# orders_per_minute: {self.load_orders} orders placed at once; {self.steady_orders} completed "
                f"in {self.steady_seconds:.1f} s of steady state = {self.wall_rate * 60:.1f} per wall minute, "
                f"scaled x{self.window_seconds:g}/60 to a real Cin7 minute; bound {bound:g} (Cin7's limit), "
                f"{budget_bound:g} (the configured budget of {self.budget_calls_per_minute} calls/min)",
                f"orders_per_minute: {self.orders_per_minute:.1f} orders/min",
                f"# erp_throttle_responses: 429/503 answers to the service during that run ({status}); "
                f"it made {self.load_calls} calls for {self.load_orders} orders",
                f"erp_throttle_responses: {self.throttled} responses",
                f"# total {self.seconds:.0f} s",
            ]
        )


def bench_config(base: Config, window_seconds: float) -> Config:
    """The config with the orders' API application budgeted at its configured rate, compressed like the
    sandbox's window (the configured `calls_per_minute` per window instead of per minute), and no stock
    webhook."""
    data = base.model_dump(mode="json")
    name = base.erp.application_for("orders")
    app = base.erp.applications[name]
    data["erp"]["applications"][name]["calls_per_minute"] = round(app.calls_per_minute * 60 / window_seconds)
    data["erp"]["applications"][name]["limit_per_minute"] = round(app.limit_per_minute * 60 / window_seconds)
    # Without the stock webhook: its re-read of each SKU a sale allocates is a stock call on the same API
    # application, and would be counted here as the orders' own (the stock part measures it apart).
    data["stock"]["fast_path"] = False
    return parse_config(data, "benchmark config")


def _service_calls(env: LocalEnvironment) -> int:
    assert env.cin7
    return int(env.cin7.stats()["calls_by_application"].get(env.cin7_credentials["application_key"], 0))


def _check_synced(env: LocalEnvironment, order_ids: Sequence[str]) -> None:
    """Every order synced, with exactly one Cin7 sale (read in-process: no API call, no budget)."""
    assert env.cin7
    prefix = env.config.orders.external_id_prefix
    by_external = env.cin7.stats()["sales_by_external_id"]
    store = env.state()
    bad = []
    for oro_id in order_ids:
        status = store.get_order(oro_id).status
        count = by_external.get(f"{prefix}{oro_id}", 0)
        if status != "synced" or count != 1:
            bad.append(f"{oro_id}: state {status}, {count} sale(s)")
    if bad:
        raise BenchmarkFailed(f"{len(bad)} order(s) did not end as one synced sale: {'; '.join(bad[:10])}")


def _completion_times(env: LocalEnvironment, order_ids: Sequence[str]) -> list[float]:
    store = env.state()
    times = []
    for oro_id in order_ids:
        done = [
            e["at"] for e in store.timeline(oro_id) if e["kind"] == "processed" and e["outcome"] == "synced"
        ]
        if not done:
            raise BenchmarkFailed(f"order {oro_id} has no 'processed' event")
        times.append(datetime.fromisoformat(str(done[0]).replace("Z", "+00:00")).timestamp())
    return sorted(times)


def run(
    base: Config,
    *,
    window_seconds: float,
    orders: int,
    load_orders: int,
    timeout: float,
    progress: Any,
) -> Figures:
    started = time.monotonic()
    quiet = {"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"}
    with (
        tempfile.TemporaryDirectory(prefix="orosync-bench-") as tmp,
        LocalEnvironment(
            bench_config(base, window_seconds),
            Path(tmp),
            run_schedules=False,
            function_env=quiet,
            cin7_options={
                "calls_per_minute": CALLS_PER_REAL_MINUTE,
                "window_seconds": window_seconds,
                "throttle_status": "mixed",
            },
            # Nothing should fail here; if something does, see it in seconds rather than 6 minutes.
            visibility_timeouts={"orders": 30},
        ) as env,
    ):
        assert env.cin7
        env.seed()

        progress("1/2 erp_calls_per_order: warm-up order")
        warm = env.place_order("Acme Holdings", WARM_UP, po_number="BENCH-WARM")
        env.wait_until_settled(timeout)
        _check_synced(env, [warm])
        before = _service_calls(env)
        warm_up_calls = before
        progress(f"1/2 erp_calls_per_order: {orders} orders, one at a time")
        measured = []
        for n in range(orders):
            customer, lines = ORDER_MIX[n % len(ORDER_MIX)]
            measured.append(env.place_order(customer, lines, po_number=f"BENCH-{n:04d}"))
            env.wait_until_settled(timeout)
        calls = _service_calls(env) - before
        _check_synced(env, measured)

        # A quiet window between the runs: the second starts with an empty Cin7 window, as after an idle minute.
        env.cin7.advance_clock(window_seconds)
        stats_before = env.cin7.stats()
        calls_before = _service_calls(env)
        progress(f"2/2 orders_per_minute: {load_orders} orders placed at once, drained against the limit")
        load = [
            env.place_order(*ORDER_MIX[n % len(ORDER_MIX)], po_number=f"LOAD-{n:04d}")
            for n in range(load_orders)
        ]
        env.wait_until_settled(timeout)
        stats_after = env.cin7.stats()
        load_calls = _service_calls(env) - calls_before
        _check_synced(env, load)
        done = _completion_times(env, load)
        first = min(9, len(done) - 2)
        last = max(first + 1, int(len(done) * 0.9) - 1)
        steady_seconds = done[last] - done[first]
        if steady_seconds <= 0:
            raise BenchmarkFailed("the load run finished too fast to measure a rate: raise --load-orders")
        by_status = {
            k: v - stats_before["throttled_by_status"].get(k, 0)
            for k, v in stats_after["throttled_by_status"].items()
            if v - stats_before["throttled_by_status"].get(k, 0)
        }
        return Figures(
            window_seconds=window_seconds,
            budget_calls_per_minute=base.erp.applications[
                base.erp.application_for("orders")
            ].calls_per_minute,
            warm_up_calls=warm_up_calls,
            calls=calls,
            orders=orders,
            load_orders=load_orders,
            wall_rate=(last - first) / steady_seconds,
            steady_orders=last - first,
            steady_seconds=steady_seconds,
            throttled=stats_after["throttled"] - stats_before["throttled"],
            throttled_by_status=by_status,
            load_calls=load_calls,
            seconds=time.monotonic() - started,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/example.yaml", help="config file (endpoints replaced)")
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=20.0,
        help="Cin7's 60-call window, compressed (real: 60). Keep the limit below what the local runtime can "
        "process (about 3 orders a second here), or the figure measures the laptop, not the limit",
    )
    parser.add_argument("--orders", type=int, default=20, help="orders measured for erp_calls_per_order")
    parser.add_argument("--load-orders", type=int, default=100, help="orders placed at once for the rate")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds to wait for a run to settle")
    parser.add_argument("--only", choices=("orders", "stock", "prices"), help="run one part only")
    parser.add_argument("--stock-skus", type=int, default=20000, help="generated SKUs, each at 2 locations")
    parser.add_argument("--stock-orders", type=int, default=10, help="orders placed during the stock run")
    parser.add_argument(
        "--stock-adjustments", type=int, default=20, help="stock adjustments timed for the webhook path"
    )
    parser.add_argument(
        "--stock-timeout", type=float, default=900.0, help="seconds to wait for a stock run to settle"
    )
    parser.add_argument("--price-products", type=int, default=10000, help="generated products, 3 price lists")
    parser.add_argument("--price-orders", type=int, default=10, help="orders placed during the price run")
    parser.add_argument(
        "--price-timeout", type=float, default=1800.0, help="seconds to wait for a price run to settle"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.load_orders < 12 or not 1 <= args.window_seconds <= 60:
        parser.error("need --orders >= 1, --load-orders >= 12 and 1 <= --window-seconds <= 60")
    if args.stock_skus < 1 or args.stock_orders < 1 or args.stock_adjustments < 2:
        parser.error("need --stock-skus >= 1, --stock-orders >= 1 and --stock-adjustments >= 2")
    if args.price_products < 100 or args.price_orders < 1:
        parser.error("need --price-products >= 100 and --price-orders >= 1")
    try:
        base = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1

    def progress(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    # The figures are the output: the functions' logs and Powertools' metric dumps (it prints a metric set
    # whenever one metric reaches 100 values, even with metrics disabled) stay out of it.
    logger.setLevel(logging.CRITICAL)
    for name in ("werkzeug", "local.runtime", "aws_lambda_powertools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Dimension .* has already been added")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    # Every function, both sandboxes and the embedded AWS share this one interpreter. With Python's default
    # 5 ms switch interval a thread busy serialising a 1,000-product page holds the GIL for whole slices, and
    # an order's thread, which gives it up on every socket call, waits up to a slice to get it back each
    # time (a convoy): measured, the orders during a 10,000-product price run took 2.85 s p50 at 5 ms and
    # 0.9 s at 0.5 ms. In AWS each function is its own process; 0.5 ms makes this one a closer stand-in.
    sys.setswitchinterval(0.0005)
    print("# orosync benchmarks: local runtime, embedded AWS, sandbox Cin7 and Oro", flush=True)
    try:
        if args.only in (None, "orders"):
            with contextlib.redirect_stdout(io.StringIO()):
                figures = run(
                    base,
                    window_seconds=args.window_seconds,
                    orders=args.orders,
                    load_orders=args.load_orders,
                    timeout=args.timeout,
                    progress=progress,
                )
            print(figures.render(), flush=True)
        if args.only in (None, "stock"):
            with contextlib.redirect_stdout(io.StringIO()):
                stock_figures = stock.run(
                    base,
                    skus=args.stock_skus,
                    orders=args.stock_orders,
                    adjustments=args.stock_adjustments,
                    timeout=args.stock_timeout,
                    progress=progress,
                )
            print(stock_figures.render(), flush=True)
        if args.only in (None, "prices"):
            with contextlib.redirect_stdout(io.StringIO()):
                price_figures = prices.run(
                    base,
                    products=args.price_products,
                    orders=args.price_orders,
                    timeout=args.price_timeout,
                    progress=progress,
                )
            print(price_figures.render(), flush=True)
    except (BenchmarkFailed, stock.StockBenchmarkFailed, TimeoutError) as err:
        print(f"bench: the run failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
