"""`orosync reconcile --report|--run`: the last reconciliation (shared/flows/reconcile.py), or a new one queued.

`--report` prints what the last run found: the window, the orders the status policy syncs and where each
is (synced, held, filtered, orphaned and enqueued again), the ghost sales and the total mismatches, and
its ERP calls. `--run` queues a reconciliation for `reconcile_run` (the local runtime or the deployed
stack works it); `--report` afterwards shows it. The table is found as in `orosync orders`.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.orders_cmd import add_location_options, open_location, run, table_text, to_json, when


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orosync reconcile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--report", action="store_true", help="print the last reconciliation's result")
    what.add_argument("--run", action="store_true", help="queue a reconciliation now")
    p.add_argument("--json", action="store_true", help="with --report: print JSON instead of text")
    add_location_options(p)
    return p


def report_text(results: dict[str, dict[str, Any]]) -> str:
    orders = results.get("orders")
    if orders is None:
        return "no reconciliation has run yet: `orosync reconcile --run` queues one"
    lines = [
        f"orders reconciled {when(orders['at'])} UTC, updated {when(orders['since'])} .. {when(orders['until'])}",
        "",
        table_text(
            [
                "ORDERS",
                "TO SYNC",
                "SYNCED",
                "HELD",
                "FILTERED",
                "IN FLIGHT",
                "ORPHANED",
                "GHOSTS",
                "MISMATCHES",
            ],
            [
                [
                    str(orders["orders"]),
                    str(orders["to_sync"]),
                    str(orders["synced"]),
                    str(orders["held"]),
                    str(orders["filtered"]),
                    str(orders["in_flight"]),
                    str(len(orders["orphaned"])),
                    str(len(orders["ghosts"])),
                    str(len(orders["mismatches"])),
                ]
            ],
        ),
        "",
        f"Cin7 sales listed: {orders['sales']} in {orders['sale_pages']} saleList page(s); "
        f"ERP calls: {orders['erp_calls']}; totals compared: {orders['totals_compared']}",
    ]
    for order_id in orders["orphaned"]:
        lines.append(f"ORDER_ORPHANED order:{order_id}  enqueued again (`orosync orders show {order_id}`)")
    for sale_id in orders["ghosts"]:
        lines.append(f"ORDER_GHOST    sale:{sale_id}  a Cin7 sale with our ExternalID and no binding here")
    for m in orders["mismatches"]:
        lines.append(
            f"TOTAL_MISMATCH order:{m['order_id']}  Oro {m['oro']} vs Cin7 {m['erp']} (sale {m['sale_id']})"
        )
    drift = results.get("drift")
    if drift is None:
        lines += ["", "drift: not counted yet (daily, in schedules.reconcile_drift_hour_utc)"]
    else:
        lines += [
            "",
            f"drift counted {when(drift['at'])} UTC: stock {drift['stock_drift']} of {drift['stock_levels']} "
            f"levels set in Oro; prices {drift['price_drift']} of {drift['prices_compared']} tier prices sent "
            f"to Cin7 ({drift['erp_calls']} ERP calls)",
            *(f"  stock  {e}" for e in drift["stock_examples"]),
            *(f"  price  {e}" for e in drift["price_examples"]),
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def action() -> int:
        loc = open_location(args)
        if args.run:
            loc.queue("reconcile").send({"kind": "orders", "source": "cli"})
            print("reconciliation queued; `orosync reconcile --report` shows it once it has run")
            return 0
        results = loc.store.reconcile_results()
        print(to_json(results) if args.json else report_text(results))
        return 0

    return run("orosync reconcile", action)
