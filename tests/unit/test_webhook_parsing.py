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


def _order(**data):
    resource = {"type": "orders", "id": "1042", "attributes": {"updatedAt": "2026-06-01T14:03:12Z"}, **data}
    return _body(eventData={"data": resource})


@pytest.mark.parametrize("sig", ["é" * 64, "\u2603", "0" * 63 + "\u0660"])
def test_signature_with_non_ascii_text_is_invalid_not_an_error(sig):
    assert signature_valid(_body(), sig, SECRET) is False


@pytest.mark.parametrize(
    "raw, expected",
    [
        (_order(relationships=[1]), "eventData.data.relationships: expected an object, got list"),
        (_order(relationships="x"), "eventData.data.relationships: expected an object, got str"),
        (
            _order(relationships={"internalStatus": [1]}),
            "relationships.internalStatus: expected an object, got list",
        ),
        (
            _order(relationships={"internalStatus": {"data": "open"}}),
            "relationships.internalStatus.data: expected an object, got str",
        ),
        (
            _order(relationships={"internalStatus": {"data": {"id": {"x": 1}}}}),
            "internalStatus.data.id: expected a string or a number, got dict",
        ),
        (_order(attributes=[]), "eventData.data.attributes: Input should be a valid dictionary"),
        (
            _order(attributes={"updatedAt": "2026-06-01T14:03:12Z", "totalValue": "9" * 201}),
            "totalValue: longer than 200 characters",
        ),
        (_body(messageId="m" * 201), "messageId: String should have at most 200 characters"),
        (
            _order(attributes={"updatedAt": "0001-01-01T00:00:00+01:00"}),
            "updatedAt: '0001-01-01T00:00:00+01:00' is out of range",
        ),
    ],
)
def test_parts_of_the_wrong_shape_are_rejected_naming_them(raw, expected):
    with pytest.raises(BadWebhook) as err:
        parse_order_event(raw)
    assert expected in str(err.value)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_body_is_rejected(depth):
    raw = _order(attributes={"updatedAt": "2026-06-01T14:03:12Z"})
    nested = b'{"deep": ' + b"[" * depth + b"]" * depth + b", " + raw[1:]
    with pytest.raises(BadWebhook, match="nested deeper than 32 levels"):
        parse_order_event(nested)


def test_nesting_as_deep_as_oro_sends_is_taken():
    nested = {"a": 1}
    for _ in range(25):
        nested = {"n": nested}
    assert parse_order_event(_order(meta=nested)).order_id == "1042"


@pytest.mark.parametrize(
    "raw, expected",
    [
        (_body().decode().encode("utf-16"), "body is not JSON: not UTF-8"),
        (b"\xff" + _body(), "body is not JSON: not UTF-8 (byte 0)"),
        (_body(timestamp=float("nan")), "NaN is not a JSON number"),
        (b'{"topic": 1' + b"0" * 5000 + b"}", "body is not JSON: Exceeds the limit"),
        (_body(messageId="\ud800"), "a lone surrogate"),
    ],
)
def test_body_that_is_not_utf8_json_is_rejected(raw, expected):
    with pytest.raises(BadWebhook) as err:
        parse_order_event(raw)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    "order_id", ["1/../3", "3?x=1", "../1", "1%2F2", "007", "0", "-1", " 1", "１", True, 1.5]
)
def test_order_id_that_is_not_an_oro_id_is_rejected(order_id):
    raw = _body(eventData={"data": {"type": "orders", "id": order_id, "attributes": {}}})
    with pytest.raises(BadWebhook) as err:
        parse_order_event(raw)
    assert "eventData.data.id" in str(err.value)
    thin = _body(eventData={"data": {"type": "orders", "id": order_id}})
    with pytest.raises(BadWebhook, match="eventData.data.id"):
        parse_order_event(thin)
