"""Intake over the embedded AWS endpoint: one order state is enqueued once, and a claim left by a run that
died before enqueueing is taken again once it is stale, so the order is not lost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local.provision import provision
from shared.adapters.aws.queue import SqsQueue
from shared.adapters.aws.state import StateStore
from shared.errors import Transient
from shared.flows.intake import STALE_CLAIM_SECONDS, enqueue_order_version, fingerprint, order_entity


def _world() -> tuple[StateStore, SqsQueue]:
    env = provision(f"intake-{uuid.uuid4().hex[:6]}")
    return StateStore(env["STATE_TABLE_NAME"]), SqsQueue(env["ORDERS_QUEUE_URL"])


def _depth(queue: SqsQueue) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_a_claim_left_by_a_run_that_died_before_enqueueing_is_taken_again_once_stale(aws):
    store, queue = _world()
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    version = "2026-12-01T08:59:59Z"
    # A webhook run claimed this state of order 42 and was killed before it could enqueue.
    assert store.claim_intake(
        order_entity("42"), fingerprint(version, "open", "10.00"), t0, stale_after_seconds=STALE_CLAIM_SECONDS
    )

    def arrive(seconds: float) -> bool:
        return enqueue_order_version(
            store,
            queue,
            t0 + timedelta(seconds=seconds),
            order_id="42",
            version=version,
            source="poll",
            status="open",
            total="10.00",
        )

    assert arrive(STALE_CLAIM_SECONDS - 1) is False  # the claimant might still be enqueueing
    assert _depth(queue) == 0
    assert arrive(STALE_CLAIM_SECONDS + 1) is True  # it cannot be: the order is taken in
    assert arrive(STALE_CLAIM_SECONDS + 2) is False  # and only once
    assert _depth(queue) == 1
    assert STALE_CLAIM_SECONDS < 10 * 60  # shorter than the example config's poll overlap


def test_a_claim_whose_enqueue_failed_is_released_so_the_senders_retry_is_taken_in(aws):
    store, queue = _world()
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    gone = SqsQueue(queue.url.rsplit("/", 1)[0] + "/no-such-queue")

    def arrive(q: SqsQueue) -> bool:
        return enqueue_order_version(
            store, q, now, order_id="43", version="2026-12-01T08:59:59Z", source="webhook", status="open"
        )

    with pytest.raises(Transient, match="sqs send failed"):
        arrive(gone)
    assert store.intake_records(order_entity("43")) == []  # released: it was never taken in
    assert arrive(queue) is True  # the retry, at once, not only once the claim is stale
    assert arrive(queue) is False
    assert _depth(queue) == 1
    assert [r["state"] for r in store.intake_records(order_entity("43"))] == ["enqueued"]
