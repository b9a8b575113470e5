"""Regressions found by the chaos suite: authorising a DRAFT sale is exactly-once, and another worker's
lease defers a message instead of failing it toward the DLQ."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import httpx
import pytest

from local.environment import LocalEnvironment
from shared.config import load_config
from shared.runtime import SystemClock

CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


@pytest.fixture(scope="module")
def env(tmp_path_factory, aws_server) -> Iterator[LocalEnvironment]:
    environment = LocalEnvironment(
        load_config(CONFIG),
        tmp_path_factory.mktemp("retries"),
        run_schedules=False,
        aws=aws_server,
        visibility_timeouts={"orders": 1},
    )
    with environment:
        environment.seed()
        yield environment


def _dlq_depth(env: LocalEnvironment) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=env.env["ORDERS_DLQ_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def test_draft_sale_is_authorised_once_when_the_authorise_answer_is_lost(env):
    assert env.oro is not None and env.cin7 is not None
    httpx.post(
        f"{env.oro.control_url}/config", json={"default_internal_status": "pending"}
    ).raise_for_status()
    try:
        oro_id = env.place_order("Acme Holdings", [("WID-100", "each", Decimal(3), Decimal("12.00"))])
        env.wait_until_settled(30)
    finally:
        httpx.post(
            f"{env.oro.control_url}/config", json={"default_internal_status": "open"}
        ).raise_for_status()
    assert env.state().get_order(oro_id).erp_status == "DRAFT"

    rule = env.cin7.add_faults(
        {"method": "POST", "path": "^/sale/order$", "drop_after_commit_rate": 1.0, "drop_mode": "close"}
    )[0]
    httpx.post(
        f"{env.oro.control_url}/orders/{oro_id}/internal-status", json={"status": "open"}
    ).raise_for_status()
    deadline = time.monotonic() + 20
    while env.cin7.stats()["dropped_after_commit"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    env.cin7.clear_faults(rule["id"])
    env.wait_until_settled(40)

    state = env.state().get_order(oro_id)
    assert (state.status, state.step, state.erp_status) == ("synced", "lines_done", "AUTHORISED")
    sales = env.sales_for(oro_id)
    assert len(sales) == 1 and sales[0].Order.Status == "AUTHORISED" and len(sales[0].Order.Lines) == 1
    authorised = [e for e in env.state().timeline(oro_id) if e["kind"] == "authorised"]
    assert len(authorised) == 1 and authorised[0]["adopted"] is True
    assert _dlq_depth(env) == 0


def test_message_is_deferred_not_failed_when_another_worker_holds_the_order(env):
    assert env.runtime is not None
    oro_id = env.place_order("Acme Holdings", [("WID-100", "each", Decimal(2), Decimal("12.00"))])
    env.wait_until_settled(30)
    store = env.state()
    token = store.acquire_lease(oro_id, SystemClock().now(), 3)  # "another worker"
    before = env.runtime.stats()["order_sync"].errors
    httpx.post(
        f"{env.oro.control_url}/orders/{oro_id}/internal-status", json={"status": "cancelled"}
    ).raise_for_status()
    env.wait_until_settled(60)
    store.release_lease(oro_id, token)
    # A deferred message is delayed in the queue: on a loaded machine the runtime may look idle for a moment
    # between one deferral and the next receive, so wait for the outcome itself.
    deadline = time.monotonic() + 60
    while store.get_order(oro_id).status != "voided" and time.monotonic() < deadline:
        env.wait_until_settled(60)
        time.sleep(0.5)
    assert env.runtime.stats()["order_sync"].errors == before
    assert store.get_order(oro_id).status == "voided"
    assert "gated" in [e["kind"] for e in store.timeline(oro_id)]
    assert _dlq_depth(env) == 0
