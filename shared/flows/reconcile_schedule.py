"""The start of a reconciliation (functions/reconcile): no ERP or Oro call and no state, only the step queued
for `reconcile_run` (shared/flows/reconcile.py, whose messages these are)."""

from __future__ import annotations

from datetime import datetime

from shared.ports import WorkQueue

ORDERS = "orders"  # the window's Oro orders against the state and the ERP's sales
DRIFT = "drift"  # daily: stock levels and tier prices last written against what each side holds now


def start_reconcile(queue: WorkQueue, now: datetime, drift_hour_utc: int) -> list[str]:
    """The orders step on every run; the drift step too on the run in `drift_hour_utc` (once a day with the
    hourly schedule)."""
    kinds = [ORDERS, DRIFT] if now.hour == drift_hour_utc else [ORDERS]
    for kind in kinds:
        queue.send({"kind": kind, "source": "schedule"})
    return kinds
