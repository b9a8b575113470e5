"""Intake: turn "this order may have changed" (webhook or poll) into exactly one piece of work per version.

The same order version arriving by webhook, by a redelivered webhook and by the overlapping poll is
claimed once in the state table; only the claimant enqueues it (DESIGN §3, §6).
"""

from __future__ import annotations

from datetime import datetime

from shared.adapters.aws.state import StateStore
from shared.ports import WorkQueue


def order_entity(order_id: str) -> str:
    return f"oro-order#{order_id}"


def enqueue_order_version(
    store: StateStore, queue: WorkQueue, now: datetime, *, order_id: str, version: str, source: str
) -> bool:
    """True if enqueued now; False if this version was already taken in."""
    entity = order_entity(order_id)
    if not store.claim_intake(entity, version, now):
        return False
    try:
        message_id = queue.send(
            {"kind": "order", "order_id": order_id, "version": version, "source": source, "received_at": now}
        )
    except Exception:
        store.release_intake(entity, version)
        raise
    store.mark_intake_enqueued(entity, version, message_id)
    return True
