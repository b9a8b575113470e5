"""The start of a customer run (functions/customer_sync): no ERP or Oro call and no state, only the two scans
queued for `customer_push` (shared/flows/customers.py, whose `CustomerWork` messages these are)."""

from __future__ import annotations

from shared.ports import WorkQueue

CUSTOMER_SCAN = "customer_scan"  # Oro accounts changed since the watermark → a `customer` step each
APPROVAL_SCAN = "approval_scan"  # ERP customers changed while an account waits for finance's approval


def start_run(queue: WorkQueue) -> list[str]:
    """Queue the scan of changed Oro accounts and the approval check."""
    for kind in (CUSTOMER_SCAN, APPROVAL_SCAN):
        queue.send({"kind": kind, "source": "schedule"})
    return [CUSTOMER_SCAN, APPROVAL_SCAN]
