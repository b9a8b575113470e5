"""OroCommerce webhook deliveries: signature over the raw body, and a body model that names each problem."""

import hashlib
import hmac
import json

import pytest

from shared.adapters.orocommerce.webhook import BadWebhook, parse_order_event, signature_valid

SECRET = "s3cret"


def _body(**over):
    doc = {
        "topic": "order.created",
        "eventData": {
            "data": {"type": "orders", "id": "1042", "attributes": {"updatedAt": "2026-06-01T14:03:12Z"}}
        },
        "timestamp": 1780000000,
        "messageId": "6c1f9a1e-0000-4000-8000-000000000001",
    }
    doc.update(over)
    return json.dumps(doc).encode()


def _sign(raw: bytes) -> str:
    return hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


def test_signature_is_checked_over_the_exact_raw_bytes():
    raw = _body()
    assert signature_valid(raw, _sign(raw), SECRET)
    assert signature_valid(raw, _sign(raw).upper(), SECRET)
    reserialised = json.dumps(json.loads(raw), indent=2).encode()
    assert not signature_valid(reserialised, _sign(raw), SECRET)


@pytest.mark.parametrize("sig", [None, "", "deadbeef", "sha256=" + "0" * 64])
def test_signature_rejected_when_missing_or_wrong(sig):
    assert not signature_valid(_body(), sig, SECRET)


def test_order_event_carries_id_and_utc_version():
    ev = parse_order_event(_body())
    assert (ev.order_id, ev.version, ev.topic) == ("1042", "2026-06-01T14:03:12Z", "order.created")
    raw = _body(
        eventData={
            "data": {"type": "orders", "id": 7, "attributes": {"updatedAt": "2026-06-01T16:03:12+02:00"}}
        }
    )
    assert parse_order_event(raw).version == "2026-06-01T14:03:12Z"


def test_non_order_topics_are_not_work():
    raw = _body(topic="product.updated", eventData={"data": {"type": "products", "id": "1"}})
    assert parse_order_event(raw) is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"not json", "body is not JSON"),
        (b"[1,2]", "Input should be"),
        (
            json.dumps({"eventData": {"data": {"type": "orders", "id": "1"}}}).encode(),
            "topic: Field required",
        ),
        (_body(eventData={}), "eventData.data: Field required"),
        (_body(eventData={"data": {"type": "customers", "id": "1"}}), "expected 'orders'"),
        (_body(eventData={"data": {"type": "orders", "id": "1", "attributes": {}}}), "updatedAt: missing"),
        (
            _body(
                eventData={"data": {"type": "orders", "id": "1", "attributes": {"updatedAt": "yesterday"}}}
            ),
            "not an ISO 8601",
        ),
        (
            _body(
                eventData={
                    "data": {"type": "orders", "id": "1", "attributes": {"updatedAt": "2026-06-01T14:03:12"}}
                }
            ),
            "no UTC offset",
        ),
    ],
)
def test_malformed_body_is_rejected_naming_the_problem(raw, expected):
    with pytest.raises(BadWebhook) as err:
        parse_order_event(raw)
    assert expected in str(err.value)


def test_thin_delivery_is_work_keyed_by_its_message_id():
    event = parse_order_event(_body(eventData={"data": {"type": "orders", "id": "1042"}}))
    assert event is not None
    assert (event.order_id, event.version, event.message_id) == (
        "1042",
        None,
        "6c1f9a1e-0000-4000-8000-000000000001",
    )


def test_thin_delivery_without_a_message_id_is_rejected_naming_it():
    with pytest.raises(BadWebhook, match="messageId: a thin delivery"):
        parse_order_event(_body(eventData={"data": {"type": "orders", "id": "1042"}}, messageId=None))
