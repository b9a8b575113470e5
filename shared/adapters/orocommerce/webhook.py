"""Incoming OroCommerce webhook deliveries: signature check and body model (reference §9).

Oro signs the exact raw body with HMAC-SHA256 and sends lowercase hex in `Webhook-Signature`. The body is
`{"topic", "eventData": <JSON:API GET document>, "timestamp", "messageId"}`. The order in it is a hint: the
worker re-reads the order, so only the id and version are taken from here. A subscription in Oro's `thin`
format sends only the type and id: such a delivery is taken in by its `messageId` instead of the order's
version (the worker's content hash then tells an unchanged order from a changed one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.deleted"})
DELETED_STATUS = "deleted"  # the intake status of an order.deleted delivery: new work, not a repeat


class BadWebhook(ValueError):
    """The body cannot be used; the message names the problem (it goes back to the sender as a 400)."""


def signature_valid(raw_body: bytes, signature: str | None, secret: str) -> bool:
    if not signature:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


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
    topic: str
    eventData: _Document  # noqa: N815 - the wire name
    timestamp: int | None = None
    messageId: str | None = None  # noqa: N815


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
        raise BadWebhook(f"eventData.data.attributes.updatedAt: {value!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise BadWebhook("eventData.data.attributes.updatedAt: the time has no UTC offset")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_order_event(raw_body: bytes) -> OrderEvent | None:
    """The order id and version in a delivery; None for a topic that is not about orders."""
    try:
        data = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadWebhook(f"body is not JSON: {err.msg if hasattr(err, 'msg') else err}") from None
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
        raise BadWebhook(f"eventData.data.type: expected 'orders', got {resource.type!r}")
    if "attributes" not in resource.model_fields_set and not (resource.model_extra or {}).get(
        "relationships"
    ):
        if not delivery.messageId:
            raise BadWebhook("messageId: a thin delivery (type and id only) needs its messageId")
        return OrderEvent(
            order_id=resource.id, version=None, topic=delivery.topic, message_id=delivery.messageId
        )
    version = _normalise_version(resource.attributes.get("updatedAt"))
    status_rel = (resource.model_extra or {}).get("relationships", {}).get("internalStatus") or {}
    status = (status_rel.get("data") or {}).get("id") if isinstance(status_rel, dict) else None
    total = resource.attributes.get("totalValue")
    return OrderEvent(
        order_id=resource.id,
        version=version,
        topic=delivery.topic,
        message_id=delivery.messageId,
        # A deletion carries the order as it last was: its own status keeps it from looking like a repeat
        # of the version it deletes.
        status=DELETED_STATUS
        if delivery.topic.startswith("order.deleted")
        else (str(status) if status is not None else None),
        total=str(total) if total is not None else None,
    )
