"""Incoming OroCommerce webhook deliveries: signature check and body model (reference §9).

Oro signs the exact raw body with HMAC-SHA256 and sends lowercase hex in `Webhook-Signature`. The body is
`{"topic", "eventData": <JSON:API GET document>, "timestamp", "messageId"}`. The order in it is a hint: the
worker re-reads the order, so only the id and version are taken from here. A subscription in Oro's `thin`
format sends only the type and id: such a delivery is taken in by its `messageId` instead of the order's
version (the worker's content hash then tells an unchanged order from a changed one).

Nothing in a body can make this module fail other than with `BadWebhook` (a 400 naming the problem): a body
that is not UTF-8 JSON, nested deeper than `MAX_NESTING`, with a part of the wrong shape, a text field
longer than `MAX_FIELD_CHARS`, or an order id that is not an Oro id (a positive integer). `MAX_BODY_BYTES`
is for the handler to enforce before the signature and the parse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.adapters.orocommerce.models import is_oro_id

ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.deleted"})
DELETED_STATUS = "deleted"  # the intake status of an order.deleted delivery: new work, not a repeat
# An order document is tens of KB, a few hundred with `webhook_relations_includes` and many lines: 1 MiB
# leaves room for that and is far below API Gateway's own 10 MB. A larger delivery is refused (413, which
# Oro does not retry) and the order is taken in by the poll, the body being only a hint.
MAX_BODY_BYTES = 1024 * 1024
# Oro's JSON:API documents are a few levels deep (delivery > eventData > data > relationships > x > data).
MAX_NESTING = 32
# messageId (a UUID), topic, internal status id and totalValue: each becomes part of a state-table key or a
# log line, so its length is bounded (a DynamoDB sort key holds at most 1 KB).
MAX_FIELD_CHARS = 200


class BadWebhook(ValueError):
    """The body cannot be used; the message names the problem (it goes back to the sender as a 400)."""


def signature_valid(raw_body: bytes, signature: str | None, secret: str) -> bool:
    if not signature:
        return False
    given = signature.strip().lower()
    if not given.isascii():
        return False  # no hex digest is; and compare_digest refuses to compare non-ASCII text
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    id: str
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class _Document(BaseModel):
    model_config = ConfigDict(extra="allow")
    data: _Resource


class OroWebhookDelivery(BaseModel):
    model_config = ConfigDict(extra="allow")
    topic: str = Field(max_length=MAX_FIELD_CHARS)
    eventData: _Document  # noqa: N815 - the wire name
    timestamp: int | None = None
    messageId: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)  # noqa: N815


class OrderEvent(BaseModel):
    order_id: str
    version: str | None  # the order's updatedAt, normalised to UTC seconds; None in a thin delivery
    topic: str
    message_id: str | None
    status: str | None = None  # internalStatus id
    total: str | None = None  # totalValue as sent


def _normalise_version(value: Any) -> str:
    if not isinstance(value, str):
        raise BadWebhook("eventData.data.attributes.updatedAt: missing or not a string")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadWebhook(
            f"eventData.data.attributes.updatedAt: {value[:40]!r} is not an ISO 8601 time"
        ) from None
    if dt.tzinfo is None:
        raise BadWebhook("eventData.data.attributes.updatedAt: the time has no UTC offset")
    try:
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise BadWebhook(f"eventData.data.attributes.updatedAt: {value!r} is out of range") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(raw_body: bytes) -> Any:
    """The body as JSON: strict UTF-8 (`json.loads` would also guess UTF-16 and UTF-32), no NaN or Infinity,
    at most `MAX_NESTING` levels and no string that cannot be encoded again (a lone surrogate escape)."""
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadWebhook(f"body is not JSON: not UTF-8 (byte {err.start})") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadWebhook(f"body is not JSON we take: nested deeper than {MAX_NESTING} levels") from None
    except ValueError as err:  # JSONDecodeError, or an integer with more digits than Python converts
        raise BadWebhook(
            f"body is not JSON: {err.msg if isinstance(err, json.JSONDecodeError) else err}"
        ) from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING:
                raise BadWebhook(f"body is not JSON we take: nested deeper than {MAX_NESTING} levels")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadWebhook("body is not JSON we take: a string holds a lone surrogate escape") from None
    return data


def _short_text(value: Any, where: str) -> str | None:
    """A status id or total as text: None when absent; a string or number of at most MAX_FIELD_CHARS."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadWebhook(f"{where}: expected a string or a number, got {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_FIELD_CHARS:
        raise BadWebhook(f"{where}: longer than {MAX_FIELD_CHARS} characters")
    return text


def _object(value: Any, where: str) -> dict[str, Any]:
    """An optional JSON object: {} when absent (null), BadWebhook when it is something else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadWebhook(f"{where}: expected an object, got {type(value).__name__}")
    return value


PRODUCT_TOPICS = frozenset({"product.created", "product.updated"})


def is_product_event(raw_body: bytes) -> bool:
    """Whether a (signed, well-formed) delivery is about a product changing (`product.created|updated`)."""
    try:
        delivery = OroWebhookDelivery.model_validate(load_json(raw_body))
    except (BadWebhook, ValidationError):
        return False
    return ".".join(delivery.topic.split(".")[:2]) in PRODUCT_TOPICS


CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})


def customer_event_id(raw_body: bytes) -> str | None:
    """The Oro account id of a (signed, well-formed) `customer.created|updated` delivery; None for any other
    topic. A customer delivery whose resource is not an Oro account raises BadWebhook."""
    try:
        delivery = OroWebhookDelivery.model_validate(load_json(raw_body))
    except ValidationError:
        return None
    if ".".join(delivery.topic.split(".")[:2]) not in CUSTOMER_TOPICS:
        return None
    resource = delivery.eventData.data
    if resource.type != "customers" or not is_oro_id(resource.id):
        raise BadWebhook(
            f"eventData.data: expected an Oro account (type 'customers', a positive integer id), got "
            f"{resource.type[:40]!r} {resource.id[:40]!r}"
        )
    return str(resource.id)


def parse_order_event(raw_body: bytes) -> OrderEvent | None:
    """The order id and version in a delivery; None for a topic that is not about orders."""
    data = load_json(raw_body)
    try:
        delivery = OroWebhookDelivery.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadWebhook(f"{where}: {first['msg']}") from None
    if delivery.topic.split(".")[0] != "order" or ".".join(delivery.topic.split(".")[:2]) not in ORDER_TOPICS:
        return None
    resource = delivery.eventData.data
    if resource.type != "orders":
        raise BadWebhook(f"eventData.data.type: expected 'orders', got {resource.type[:40]!r}")
    if not is_oro_id(resource.id):
        raise BadWebhook(
            f"eventData.data.id: {resource.id[:40]!r} is not an Oro order id (a positive integer)"
        )
    relationships = _object((resource.model_extra or {}).get("relationships"), "eventData.data.relationships")
    if "attributes" not in resource.model_fields_set and not relationships:
        if not delivery.messageId:
            raise BadWebhook("messageId: a thin delivery (type and id only) needs its messageId")
        return OrderEvent(
            order_id=resource.id, version=None, topic=delivery.topic, message_id=delivery.messageId
        )
    version = _normalise_version(resource.attributes.get("updatedAt"))
    where = "eventData.data.relationships.internalStatus"
    status_rel = _object(relationships.get("internalStatus"), where)
    status = _object(status_rel.get("data"), f"{where}.data").get("id")
    return OrderEvent(
        order_id=resource.id,
        version=version,
        topic=delivery.topic,
        message_id=delivery.messageId,
        # A deletion carries the order as it last was: its own status keeps it from looking like a repeat
        # of the version it deletes.
        status=DELETED_STATUS
        if delivery.topic.startswith("order.deleted")
        else _short_text(status, f"{where}.data.id"),
        total=_short_text(resource.attributes.get("totalValue"), "eventData.data.attributes.totalValue"),
    )
