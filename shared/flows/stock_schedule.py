"""The start of a stock run (functions/stock_sync): no ERP or Oro call and no state, only the first steps
queued for `stock_push` (shared/flows/stock.py, whose `StockWork` messages these are)."""

from __future__ import annotations

from shared.ports import Clock, WorkQueue


def start_run(queue: WorkQueue, clock: Clock, *, fast_path: bool) -> str:
    """Queue page 1 of a new run, and the check that the fast path's webhook is still active."""
    run = clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
    queue.send({"kind": "stock_page", "run": run, "page": 1})
    if fast_path:
        queue.send({"kind": "stock_webhooks"})
    return run
