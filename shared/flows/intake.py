"""Intake: turn "this order may have changed" (webhook or poll) into exactly one piece of work per version.

The same order version arriving by webhook, by a redelivered webhook and by the overlapping poll is
claimed once in the state table; only the claimant enqueues it (DESIGN §3, §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.adapters.aws.state import StateStore
from shared.ports import WorkQueue
from shared.resources import function

# A claim whose enqueue never followed is older than any run that could still be enqueueing it (every
# intake runs inside webhook_ingest or order_poll, each killed at its timeout): it can be claimed again.
# Kept short so that the sender's own retry of a webhook lost this way, or a later poll, takes it in: a poll
# re-reads `schedules.order_poll_overlap_minutes` (10) behind its watermark, so one comes while the order is
# still inside that window as long as this (4 minutes) is shorter than the overlap.
STALE_CLAIM_SECONDS = 2 * max(function(f).timeout_seconds for f in ("webhook_ingest", "order_poll"))


def order_entity(order_id: str) -> str:
    return f"oro-order#{order_id}"


def fingerprint(version: str, status: str | None, total: object | None) -> str:
    """What identifies one state of an order at intake. Oro's updatedAt has whole seconds, so a change in
    the same second as the last one (a cancel right after the sync) would share it: the internal status and
    the total are part of the key, so such a change is still new work."""
    return f"{version}#{status or '-'}#{total if total is not None else '-'}"


def enqueue_order_version(
    store: StateStore,
    queue: WorkQueue,
    now: datetime,
    *,
    order_id: str,
    version: str | None,
    source: str,
    status: str | None = None,
    total: object | None = None,
    delivery_id: str | None = None,
) -> bool:
    """True if enqueued now; False if this state of the order was already taken in. Without a version (a
    thin webhook), the delivery's own id is the key: its redeliveries are one piece of work."""
    entity = order_entity(order_id)
    if version is not None:
        version_key = fingerprint(version, status, total)
    elif delivery_id:
        version_key = f"delivery#{delivery_id}"
    else:
        raise ValueError(f"order {order_id}: intake needs the order's version or the delivery's id")
    if not store.claim_intake(entity, version_key, now, stale_after_seconds=STALE_CLAIM_SECONDS):
        return False
    try:
        message_id = queue.send(
            {"kind": "order", "order_id": order_id, "version": version, "source": source, "received_at": now}
        )
    except Exception:
        store.release_intake(entity, version_key)
        raise
    store.mark_intake_enqueued(entity, version_key, message_id)
    return True


REFRESH_CHUNK = 5  # ERP SKUs re-read per stock fast-path message (shared/flows/stock.py `refresh`)
# A SKU whose re-read is queued is not queued again for this long (its webhooks are one ERP call); a claim
# whose re-read never ran expires after it.
REFRESH_HOLD_SECONDS = 300


def enqueue_refresh(
    store: StateStore, queue: WorkQueue, erp_skus: Sequence[str], now: datetime, *, source: str
) -> int:
    """The stock fast path's intake: the ERP SKUs a webhook named that have no re-read queued yet, queued
    `REFRESH_CHUNK` at a time (`stock_refresh` messages of shared/flows/stock.py). Returns how many SKUs."""
    claimed = [sku for sku in erp_skus if store.claim_refresh(f"stock:{sku}", now, REFRESH_HOLD_SECONDS)]
    for start in range(0, len(claimed), REFRESH_CHUNK):
        chunk = claimed[start : start + REFRESH_CHUNK]
        queue.send({"kind": "stock_refresh", "erp_skus": chunk, "source": source})
    return len(claimed)


PRICE_REFRESH_HOLD_SECONDS = 60  # Cin7 product changes within a minute are one read of the changed products


def enqueue_price_refresh(store: StateStore, queue: WorkQueue, mappings: Sequence[int], now: datetime) -> int:
    """A Cin7 product changed: each Cin7 → Oro price mapping reads the products changed since its last run
    (a `price_list` step of shared/flows/prices.py), unless such a read is already queued."""
    queued = 0
    for index in mappings:
        if store.claim_refresh(f"prices:{index}", now, PRICE_REFRESH_HOLD_SECONDS):
            queue.send({"kind": "price_list", "mapping": index, "started_at": now.isoformat()})
            queued += 1
    return queued


def enqueue_product_refresh(store: StateStore, queue: WorkQueue, now: datetime) -> bool:
    """An Oro product changed: one `product_data` step (shared/flows/products.py) reads the products changed
    since its watermark, unless one is already queued (a burst of product webhooks is one step)."""
    if not store.claim_refresh("products", now, PRICE_REFRESH_HOLD_SECONDS):
        return False
    queue.send({"kind": "product_data"})
    return True


CUSTOMER = "customer"  # a `customers` queue step: one Oro account (shared/flows/customers.py)
ERP_CUSTOMER = "erp_customer"  # one ERP customer's approval


def enqueue_customer(queue: WorkQueue, oro_id: str, *, source: str, force: bool = False) -> str:
    """An Oro account changed (webhook), or a person asked (`orosync customers onboard`, `force`: whatever
    `customers.onboard` says): one `customer` step. A repeat is harmless: the step matches before it creates."""
    message: dict[str, Any] = {"kind": CUSTOMER, "oro_id": oro_id, "source": source}
    if force:
        message["force"] = True
    return queue.send(message)


def enqueue_approval_checks(queue: WorkQueue, erp_ids: Sequence[str]) -> int:
    """Cin7 says these customers changed: one `erp_customer` step each (it reads the customer only if an
    account waits for its approval)."""
    for erp_id in erp_ids:
        queue.send({"kind": ERP_CUSTOMER, "erp_id": erp_id, "source": "webhook"})
    return len(erp_ids)


SALE = "sale"  # a `fulfilment` queue step: one Cin7 sale's progress to its Oro order
SALE_REFRESH_HOLD_SECONDS = 60


def sale_refresh_key(sale_id: str | None, order_number: str | None = None) -> str:
    """The coalescing key of one sale's re-read: its id, or the order number an event named instead."""
    return f"sale:{sale_id}" if sale_id else f"sale:order-number:{order_number}"


def enqueue_sale(
    store: StateStore,
    queue: WorkQueue,
    now: datetime,
    *,
    sale_id: str | None,
    order_number: str | None,
    event: str,
) -> bool:
    """A Cin7 sale event: one `sale` step re-reads the sale, unless one for it is queued and has not read yet
    (a burst of events for one sale is one Cin7 read). False if coalesced."""
    key = sale_refresh_key(sale_id, order_number)
    if not store.claim_refresh(key, now, SALE_REFRESH_HOLD_SECONDS):
        return False
    message: dict[str, Any] = {"kind": SALE, "event": event, "source": "webhook"}
    if sale_id:
        message["sale_id"] = sale_id
    if order_number:
        message["order_number"] = order_number
    try:
        queue.send(message)
    except Exception:
        store.expire_refresh(key)  # Cin7's retry of this delivery is new work, not a duplicate
        raise
    return True
