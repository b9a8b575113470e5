"""POST /webhooks/oro through the local API Gateway route, over HTTP, against the embedded AWS endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import boto3
import httpx
import pytest

from local.provision import provision, put_secrets
from local.runtime import LocalRuntime
from shared.config import load_config
from shared.resources import function, queue, table
from shared.runtime import Runtime

CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.yaml"
SECRET = "whsec-test-0123456789"


@pytest.fixture
def queues(aws):
    """The tables and queues of the webhook's test environment (their names and URLs)."""
    return provision(
        f"w{uuid.uuid4().hex[:8]}",
        tables=[table("state")],
        queues=[queue("orders"), queue("prices"), queue("customers")],
    )


@pytest.fixture
def ingest(aws, queues):
    cfg = load_config(CONFIG)
    env = queues
    prefix = env[table("state").env_var].rsplit("-state", 1)[0]
    put_secrets({cfg.secrets.oro_webhook: {"secret": SECRET}})
    Runtime.reset()
    rt = LocalRuntime(
        cfg, str(CONFIG), {**aws.environ(), **env}, [function("webhook_ingest")], [], prefix=prefix
    )
    rt.start()
    yield rt, env[queue("orders").env_var]
    rt.stop()
    Runtime.reset()


def _delivery(order_id="1042", updated="2026-06-01T14:03:12Z", topic="order.created") -> bytes:
    return json.dumps(
        {
            "topic": topic,
            "eventData": {"data": {"type": "orders", "id": order_id, "attributes": {"updatedAt": updated}}},
            "timestamp": 1780000000,
            "messageId": str(uuid.uuid4()),
        }
    ).encode()


def _post(rt: LocalRuntime, raw: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Webhook-Topic": "order.created"}
    if signature is not None:
        headers["Webhook-Signature"] = signature
    return httpx.post(f"{rt.base_url}/webhooks/oro", content=raw, headers=headers, timeout=10)


def _sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _drain(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not msgs:
            return out
        out.extend(json.loads(m["Body"]) for m in msgs)


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "wrong-secret"])
def test_webhook_rejected_with_401_when_signature_missing_or_bad(ingest, signature):
    rt, queue_url = ingest
    raw = _delivery()
    sig = _sign(raw, "not-the-secret") if signature == "wrong-secret" else signature
    resp = _post(rt, raw, sig)
    assert resp.status_code == 401
    assert "Webhook-Signature" in resp.json()["message"]
    assert _drain(queue_url) == []


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"{not json", "body is not JSON"),
        (json.dumps({"topic": "order.created"}).encode(), "eventData: Field required"),
        (
            json.dumps(
                {
                    "topic": "order.created",
                    "eventData": {"data": {"type": "orders", "id": "1", "attributes": {}}},
                }
            ).encode(),
            "updatedAt",
        ),
    ],
)
def test_webhook_rejected_with_400_naming_the_problem_when_body_malformed(ingest, raw, problem):
    rt, queue_url = ingest
    resp = _post(rt, raw, _sign(raw))
    assert resp.status_code == 400
    assert problem in resp.json()["message"]
    assert _drain(queue_url) == []


def test_valid_webhook_is_enqueued_exactly_once_when_delivered_repeatedly(ingest):
    rt, queue_url = ingest
    first = _delivery()
    resp = _post(rt, first, _sign(first))
    assert resp.status_code == 202
    assert resp.json() == {"status": "accepted", "enqueued": True, "order_id": "1042"}
    # the same order version again: a redelivery (new messageId) and the same bytes twice
    again = _delivery()
    assert _post(rt, again, _sign(again)).json()["enqueued"] is False
    assert _post(rt, first, _sign(first)).json()["enqueued"] is False
    # a newer version of the same order is new work
    newer = _delivery(updated="2026-06-01T15:00:00Z", topic="order.updated")
    assert _post(rt, newer, _sign(newer)).json()["enqueued"] is True
    bodies = _drain(queue_url)
    assert sorted((b["order_id"], b["version"], b["source"]) for b in bodies) == [
        ("1042", "2026-06-01T14:03:12Z", "webhook"),
        ("1042", "2026-06-01T15:00:00Z", "webhook"),
    ]


def test_thin_webhook_is_enqueued_once_per_delivery_when_redelivered(ingest):
    rt, queue_url = ingest
    thin = json.dumps(
        {
            "topic": "order.updated",
            "eventData": {"data": {"type": "orders", "id": "2077"}},
            "timestamp": 1780000000,
            "messageId": "thin-0001",
        }
    ).encode()
    assert _post(rt, thin, _sign(thin)).json() == {"status": "accepted", "enqueued": True, "order_id": "2077"}
    assert _post(rt, thin, _sign(thin)).json()["enqueued"] is False  # Oro's retry of the same delivery
    bodies = _drain(queue_url)
    assert [(b["order_id"], b["version"], b["source"]) for b in bodies] == [("2077", None, "webhook")]


def test_a_topic_no_flow_handles_is_acknowledged_and_not_enqueued(ingest, queues):
    rt, queue_url = ingest
    raw = json.dumps(
        {"topic": "shoppinglist.updated", "eventData": {"data": {"type": "shoppinglists", "id": "1"}}}
    ).encode()
    resp = _post(rt, raw, _sign(raw))
    assert resp.status_code == 202 and resp.json()["status"] == "ignored"
    assert _drain(queue_url) == []
    assert _drain(queues[queue("customers").env_var]) == []


def test_a_customer_change_queues_one_customer_step_and_nothing_for_orders(ingest, queues):
    # the example config onboards top-level accounts, so a customer change is a customer step
    rt, queue_url = ingest
    raw = json.dumps(
        {"topic": "customer.updated", "eventData": {"data": {"type": "customers", "id": "7"}}}
    ).encode()
    resp = _post(rt, raw, _sign(raw))
    assert resp.status_code == 202, resp.text
    assert _drain(queue_url) == []
    steps = _drain(queues[queue("customers").env_var])
    assert [m["kind"] for m in steps] == ["customer"]


def test_a_product_change_queues_one_product_step_however_often_oro_sends_it(ingest, queues):
    # the example config has Oro own product names, so a product change is product data to move
    rt, queue_url = ingest
    raw = json.dumps(
        {"topic": "product.updated", "eventData": {"data": {"type": "products", "id": "1"}}}
    ).encode()
    answers = [_post(rt, raw, _sign(raw)).json() for _ in range(3)]
    assert [a["product_data_queued"] for a in answers] == [True, False, False]
    assert _drain(queue_url) == []  # nothing for the orders queue
    assert [m["kind"] for m in _drain(queues[queue("prices").env_var])] == ["product_data"]


def test_webhook_answers_503_so_the_sender_retries_when_the_secret_is_unreadable(ingest, aws):
    rt, queue_url = ingest
    boto3.client("secretsmanager").delete_secret(
        SecretId="orosync/oro-webhook", ForceDeleteWithoutRecovery=True
    )
    Runtime.reset()
    raw = _delivery()
    resp = _post(rt, raw, _sign(raw))
    assert resp.status_code == 503
    assert SECRET not in resp.text


def test_webhook_signed_with_either_secret_is_taken_in_during_a_rotation(ingest):
    rt, queue_url = ingest
    put_secrets({"orosync/oro-webhook": {"secret": "whsec-new-9876543210", "previous_secret": SECRET}})
    Runtime.reset()  # the cached secret is dropped, as after `secrets.max_age_seconds`
    old, new, other = _delivery("2001"), _delivery("2002"), _delivery("2003")

    assert _post(rt, old, _sign(old, SECRET)).status_code == 202
    assert _post(rt, new, _sign(new, "whsec-new-9876543210")).status_code == 202
    assert _post(rt, other, _sign(other, "whsec-someone-else")).status_code == 401
    assert sorted(m["order_id"] for m in _drain(queue_url)) == ["2001", "2002"]
