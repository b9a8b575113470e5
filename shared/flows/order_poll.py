"""The poll behind the order webhook: orders updated since the watermark, re-reading an overlap window.

Webhooks can be dropped (or not exist: Oro < 6.1.10), so this runs on a schedule. Intake de-duplicates,
so the overlap costs nothing but a read: an order version already taken in is not enqueued again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.adapters.aws.state import StateStore
from shared.flows.intake import enqueue_order_version
from shared.ports import Clock, Storefront, WorkQueue

WATERMARK = "oro_orders"
FIRST_RUN_LOOKBACK = timedelta(hours=24)


@dataclass
class PollResult:
    since: datetime
    seen: int = 0
    enqueued: int = 0
    watermark: datetime | None = None


def poll_orders(
    storefront: Storefront, store: StateStore, queue: WorkQueue, clock: Clock, *, overlap: timedelta
) -> PollResult:
    now = clock.now()
    watermark = store.get_watermark(WATERMARK)
    since = (watermark - overlap) if watermark else (now - FIRST_RUN_LOOKBACK)
    result = PollResult(since=since, watermark=watermark)
    newest = watermark
    for ref in storefront.orders_updated_since(since):
        result.seen += 1
        taken = enqueue_order_version(
            store,
            queue,
            now,
            order_id=ref.id,
            version=ref.version,
            source="poll",
            status=ref.status,
            total=ref.total,
        )
        if taken:
            result.enqueued += 1
        if newest is None or ref.updated_at > newest:
            newest = ref.updated_at
    # The watermark is the newest updatedAt seen, never our own clock: the two systems' clocks differ.
    if newest is not None and newest != watermark:
        store.set_watermark(WATERMARK, newest)
        result.watermark = newest
    return result
