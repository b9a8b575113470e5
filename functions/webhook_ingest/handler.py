"""POST /webhooks/oro: verify the signature, validate the body, enqueue the order version, answer 202.

Stores nothing but the intake claim and never calls an external API inline (DESIGN §3). A sender retries
only on 423/425/429/502/503, so our own failures answer 503: a delivery is never dropped by us.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.orocommerce.webhook import BadWebhook, parse_order_event, signature_valid
from shared.errors import ConfigError, Transient
from shared.flows.intake import enqueue_order_version
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

app = APIGatewayRestResolver()


class Unauthorised(Exception):
    pass


def _json(status_code: int, **body: Any) -> Response:
    return Response(status_code=status_code, content_type="application/json", body=body)


@app.post("/webhooks/oro")
def oro_webhook() -> Response:
    event = app.current_event
    raw = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    rt = Runtime.get()
    # During a rotation the entry also holds the outgoing `previous_secret`: both sign valid deliveries
    # until the operator removes it (docs/operations.md, "Rotating the secrets").
    held = rt.secret("oro_webhook", "secret")
    secrets = [held["secret"], *([held["previous_secret"]] if held.get("previous_secret") else [])]
    signature = event.headers.get("Webhook-Signature")
    if not any(signature_valid(raw, signature, secret) for secret in secrets):
        raise Unauthorised("missing or invalid Webhook-Signature")
    order_event = parse_order_event(raw)
    if order_event is None:
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


@app.exception_handler(Unauthorised)
def _unauthorised(err: Unauthorised) -> Response:
    metrics.add_metric(name="WebhookRejected", unit=MetricUnit.Count, value=1)
    logger.warning("webhook rejected", extra={"reason": str(err)})
    return _json(401, message=str(err))


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
    metrics.add_dimension(name="flow", value="orders")
    metrics.add_dimension(name="system", value="oro")
    return app.resolve(event, context)
