"""SQS consumer of the orders queue: one order version per message, partial batch responses.

Throttling (the ERP's, or our own rate budget) and another worker's lease are not failures of the
message: it is sent back with a delay instead of sleeping in a paid Lambda or burning a receive toward
the DLQ. Nor is a refused credential (an outage, DESIGN §6): the `CredentialsRejected` metric alarms
operations, the cached secrets are dropped, and the message comes back later and later (up to 15
minutes apart) until the secret is fixed. Anything else that fails is retried by SQS and ends in the DLQ
after maxReceiveCount.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from shared.errors import CredentialsRejected, NotFound, Throttled
from shared.flows.order_sync import OrderSync
from shared.observability import ORDER_LATENCY, count_credentials_rejected, logger, metrics, tracer
from shared.runtime import Runtime

processor = BatchProcessor(event_type=EventType.SQS)
MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds
# A message deferred this often is failed instead, so endless throttling ends in the DLQ (and its alarm).
MAX_DEFERRALS = 50
# A credential outage is alarmed at once; a message waits it out for about three days (deferrals 15
# minutes apart), then fails toward the DLQ, which keeps it 14 days for a redrive.
MAX_CREDENTIAL_DEFERRALS = 300


class OrderWork(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: str
    order_id: str
    version: str | None = None
    source: str = "unknown"
    deferrals: int = 0
    credential_deferrals: int = 0
    received_at: datetime | None = None  # when intake took the order version in (webhook or poll)


def _defer(work: OrderWork, seconds: float, *, counter: str = "deferrals") -> None:
    rt = Runtime.get()
    body = work.model_dump()
    body[counter] = getattr(work, counter) + 1
    rt.orders_queue.send(body, delay_seconds=int(min(MAX_DELAY_SECONDS, max(1, seconds))))
    metrics.add_metric(name="OrderDeferred", unit=MetricUnit.Count, value=1)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = OrderWork.model_validate_json(record.body)  # a malformed message fails → retried → DLQ
    if work.kind != "order":
        raise ValueError(f"orders queue: unexpected message kind {work.kind!r}")
    logger.set_correlation_id(work.order_id)
    logger.append_keys(order_id=work.order_id)
    rt = Runtime.get()
    try:
        sync = OrderSync(rt.config, rt.storefront, rt.erp("orders"), rt.state, rt.clock)
        result = sync.run(work.order_id)
    except CredentialsRejected as err:  # no order's fault: no exception, no hold
        count_credentials_rejected(err.system)
        rt.drop_credentials(err.system)
        if work.credential_deferrals >= MAX_CREDENTIAL_DEFERRALS:
            raise
        delay = rt.config.secrets.rejected_retry_seconds * 2 ** min(work.credential_deferrals, 10)
        _defer(work, delay, counter="credential_deferrals")
        logger.error("credentials rejected; order deferred", extra={"system": err.system, "reason": str(err)})
        return {"order_id": work.order_id, "outcome": "deferred"}
    except Throttled as err:  # includes another worker's lease (LeaseHeld)
        if work.deferrals >= MAX_DEFERRALS:
            raise
        _defer(work, err.retry_after_seconds or 30)
        logger.info("order deferred", extra={"reason": str(err)})
        return {"order_id": work.order_id, "outcome": "deferred"}
    except NotFound as err:
        if err.system != "oro":
            raise
        metrics.add_metric(name="OrderNotFound", unit=MetricUnit.Count, value=1)
        logger.warning("order no longer exists in the storefront; nothing to sync")
        return {"order_id": work.order_id, "outcome": "not_found"}
    outcome = "".join(part.title() for part in result.outcome.split("_"))  # e.g. OrderCancelBlocked
    metrics.add_metric(name=f"Order{outcome}", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ErpCallsPerOrder", unit=MetricUnit.Count, value=result.erp_calls)
    if result.outcome == "synced" and work.received_at is not None:  # the dashboard's Oro → Cin7 latency
        seconds = (rt.clock.now() - work.received_at).total_seconds()
        metrics.add_metric(name=ORDER_LATENCY, unit=MetricUnit.Seconds, value=max(0.0, seconds))
    return {"order_id": work.order_id, "outcome": result.outcome, "sale_id": result.sale_id}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_dimension(name="flow", value="orders")
    metrics.add_dimension(name="system", value="erp")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
