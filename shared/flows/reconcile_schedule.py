"""The start of a reconciliation (functions/reconcile): no ERP or Oro call and no state, only the step queued
for `reconcile_run` (shared/flows/reconcile.py, whose messages these are)."""

from __future__ import annotations

from shared.ports import WorkQueue

ORDERS = "orders"  # the window's Oro orders against the state and the ERP's sales


def start_reconcile(queue: WorkQueue) -> list[str]:
    queue.send({"kind": ORDERS, "source": "schedule"})
    return [ORDERS]
