"""POST /webhooks/oro: verify the signature, validate the body, enqueue the order version, answer 202.

Stores nothing but the intake claim and never calls an external API inline (DESIGN §3). A sender retries
only on 423/425/429/502/503, so our own failures answer 503: a delivery is never dropped by us.

Bad input never gets a 5xx. In this order: a body over `MAX_BODY_BYTES` 413 (from its length, before the
signature and the parse), a missing or wrong `Webhook-Signature` 401 (an unsigned sender learns nothing
more), a content type that is not JSON 415, a body that cannot be used 400 naming the problem (an order id
that is not an Oro id included: it is never enqueued, so never fetched).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.cin7.webhook import (
    SECRET_HEADER,
    availability_skus,
    parse_customer_event,
    parse_sale_event,
    product_event_valid,
    secret_valid,
)
from shared.adapters.orocommerce.webhook import (
    MAX_BODY_BYTES,
    BadWebhook,
    customer_event_id,
    is_product_event,
    parse_order_event,
    signature_valid,
)
from shared.config import Onboarding, PriceDirection
from shared.errors import ConfigError, Transient
from shared.flows.intake import (
    enqueue_approval_checks,
    enqueue_customer,
    enqueue_order_version,
    enqueue_price_refresh,
    enqueue_product_refresh,
    enqueue_refresh,
    enqueue_sale,
)
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

app = APIGatewayRestResolver()


class Unauthorised(Exception):
    pass


class Refused(Exception):
    """The request is refused before its body is looked at (413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(status_code: int, **body: Any) -> Response:
    return Response(status_code=status_code, content_type="application/json", body=body)


def _is_json(content_type: str | None) -> bool:
    """`application/json` or a `+json` type such as `application/vnd.api+json`, any parameters."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _raw_body() -> bytes:
    event = app.current_event
    body = event.body or ""
    if not event.is_base64_encoded:
        # Text is at least one byte a character: an oversized body is refused before it is even encoded.
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, f"body over {MAX_BODY_BYTES} bytes")
        return body.encode("utf-8", "surrogatepass")  # a lone surrogate fails the UTF-8 check, not here
    try:
        raw = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise BadWebhook("body is not valid base64 (isBase64Encoded is set)") from None
    if len(raw) > MAX_BODY_BYTES:
        raise Refused(413, f"body over {MAX_BODY_BYTES} bytes")
    return raw


def _secrets(key: str) -> list[str]:
    """The webhook secret, and during a rotation the outgoing `previous_secret` too: both are accepted until
    the operator removes it (docs/operations.md, "Rotating the secrets")."""
    held = Runtime.get().secret(key, "secret")
    return [held["secret"], *([held["previous_secret"]] if held.get("previous_secret") else [])]


@app.post("/webhooks/oro")
def oro_webhook() -> Response:
    event = app.current_event
    raw = _raw_body()
    rt = Runtime.get()
    signature = event.headers.get("Webhook-Signature")
    if not any(signature_valid(raw, signature, secret) for secret in _secrets("oro_webhook")):
        raise Unauthorised("missing or invalid Webhook-Signature")
    if not _is_json(event.headers.get("Content-Type")):
        raise Refused(415, "Content-Type must be application/json")
    order_event = parse_order_event(raw)
    if order_event is None:
        account = customer_event_id(raw)
        if account is not None and rt.config.customers.onboard is not Onboarding.NONE:
            enqueue_customer(rt.customers_queue, account, source="webhook")
            return _json(202, status="accepted", customer_queued=account)
        if rt.config.products.active and is_product_event(raw):
            queued = enqueue_product_refresh(rt.state, rt.prices_queue, rt.clock.now())
            return _json(202, status="accepted", product_data_queued=queued)
        metrics.add_metric(name="WebhookIgnored", unit=MetricUnit.Count, value=1)
        return _json(202, status="ignored", reason="topic is not an order topic")
    logger.set_correlation_id(order_event.order_id)
    logger.append_keys(order_id=order_event.order_id)
    enqueued = enqueue_order_version(
        rt.state,
        rt.orders_queue,
        rt.clock.now(),
        order_id=order_event.order_id,
        version=order_event.version,
        source="webhook",
        status=order_event.status,
        total=order_event.total,
        delivery_id=order_event.message_id,
    )
    metrics.add_metric(
        name="WebhookEnqueued" if enqueued else "WebhookDuplicate", unit=MetricUnit.Count, value=1
    )
    logger.info("webhook taken in", extra={"topic": order_event.topic, "enqueued": enqueued})
    return _json(202, status="accepted", enqueued=enqueued, order_id=order_event.order_id)


def _cin7_body() -> bytes:
    """A Cin7 delivery's raw body, once its secret header (constant time) and content type are right: Cin7
    signs nothing, it sends back the header the webhook was registered with (reference §7)."""
    event = app.current_event
    raw = _raw_body()
    if not secret_valid(event.headers.get(SECRET_HEADER), _secrets("cin7_webhook")):
        raise Unauthorised(f"missing or wrong {SECRET_HEADER}")
    if not _is_json(event.headers.get("Content-Type")):
        raise Refused(415, "Content-Type must be application/json")
    return raw


@app.post("/webhooks/cin7/stock")
def cin7_stock_webhook() -> Response:
    """Cin7's Stock/AvailableStockLevelChanged: the SKUs it names are queued for a re-read (the fast path)."""
    raw = _cin7_body()
    skus = availability_skus(raw)
    rt = Runtime.get()
    queued = enqueue_refresh(rt.state, rt.stock_queue, skus, rt.clock.now(), source="webhook")
    metrics.add_metric(name="StockWebhookSkus", unit=MetricUnit.Count, value=len(skus))
    logger.info("stock webhook taken in", extra={"skus": len(skus), "queued": queued})
    return _json(202, status="accepted", skus=len(skus), queued=queued)


@app.post("/webhooks/cin7/product")
def cin7_product_webhook() -> Response:
    """Cin7's Product/Updated: each Cin7 → Oro price mapping reads the products changed since its last run."""
    raw = _cin7_body()
    product_event_valid(raw)
    rt = Runtime.get()
    mappings = [i for i, m in enumerate(rt.config.price_lists) if m.direction is PriceDirection.ERP_TO_ORO]
    queued = enqueue_price_refresh(rt.state, rt.prices_queue, mappings, rt.clock.now())
    logger.info("product webhook taken in", extra={"queued": queued})
    return _json(202, status="accepted", queued=queued)


@app.post("/webhooks/cin7/customer")
def cin7_customer_webhook() -> Response:
    """Cin7's Customer/Updated: each customer it names is checked for finance's approval (re-read there)."""
    raw = _cin7_body()
    erp_ids = parse_customer_event(raw)
    rt = Runtime.get()
    if rt.config.customers.onboard is Onboarding.NONE:
        return _json(202, status="ignored", reason="customers.onboard is none")
    enqueue_approval_checks(rt.customers_queue, erp_ids)
    logger.info("customer webhook taken in", extra={"customers": len(erp_ids)})
    return _json(202, status="accepted", customers=len(erp_ids))


@app.post("/webhooks/cin7/sale")
def cin7_sale_webhook() -> Response:
    """Cin7's sale events (shipment, tracking, invoice, payment, void): the sale is queued for a re-read."""
    raw = _cin7_body()
    sale_event = parse_sale_event(raw)
    rt = Runtime.get()
    if not rt.config.fulfilment.enabled:
        return _json(202, status="ignored", reason="fulfilment.enabled is false")
    queued = enqueue_sale(
        rt.state,
        rt.fulfilment_queue,
        rt.clock.now(),
        sale_id=sale_event.sale_or_task_id or None,
        order_number=sale_event.order_number,
        event=sale_event.event_type,
    )
    logger.info("sale webhook taken in", extra={"event": sale_event.event_type, "queued": queued})
    return _json(202, status="accepted", queued=queued)


@app.exception_handler(Unauthorised)
def _unauthorised(err: Unauthorised) -> Response:
    metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
    logger.warning("webhook rejected", extra={"reason": str(err)})
    return _json(401, message=str(err))


@app.exception_handler(Refused)
def _refused(err: Refused) -> Response:
    metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
    logger.warning("webhook refused", extra={"reason": str(err), "status": err.status})
    return _json(err.status, message=str(err))


@app.exception_handler(BadWebhook)
def _bad_body(err: BadWebhook) -> Response:
    metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
    logger.warning("webhook body invalid", extra={"reason": str(err)})
    return _json(400, message=f"invalid webhook body: {err}")


@app.exception_handler([Transient, ConfigError])
def _unavailable(err: Exception) -> Response:
    metrics.add_metric(name="WebhookUnavailable", unit=MetricUnit.Count, value=1)
    logger.exception("webhook could not be taken in; the sender will retry")
    return _json(503, message="temporarily unavailable, retry later")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    stock = "/webhooks/cin7/" in str(event.get("path") or "")
    metrics.add_dimension(name="flow", value="stock" if stock else "orders")
    metrics.add_dimension(name="system", value="cin7" if stock else "oro")
    return app.resolve(event, context)
