"""The start of a fulfilment poll (functions/fulfilment_poll): no ERP or Oro call and no state, only the scan
and the webhook check queued for `fulfilment_sync` (shared/flows/fulfilment.py, whose messages these are)."""

from __future__ import annotations

from shared.ports import WorkQueue

SALE_SCAN = "sale_scan"  # Cin7 sales updated since the watermark → a `sale` step for each that moved
SALE_WEBHOOKS = "sale_webhooks"  # every sale webhook registered and active (WEBHOOK_DISABLED)


def start_poll(queue: WorkQueue) -> list[str]:
    for kind in (SALE_SCAN, SALE_WEBHOOKS):
        queue.send({"kind": kind, "source": "schedule"})
    return [SALE_SCAN, SALE_WEBHOOKS]
