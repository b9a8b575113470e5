"""SQS consumer of the prices queue: one price step per message (shared/flows/prices.py), or a product data
step (shared/flows/products.py: `product_data`, `product_write`), partial batch responses. A step without an
ERP token, or throttled, goes back to the queue with a growing delay (1 s doubling to 5 minutes) instead of
waiting in the Lambda; a refused credential alarms and comes back later and later; anything else is retried by SQS and ends in the prices DLQ."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.errors import CredentialsRejected, Throttled
from shared.flows.prices import PriceFlow, PriceWork
from shared.flows.products import PRODUCT_DATA, PRODUCT_WRITE, ProductFlow, ProductWork
from shared.observability import count_credentials_rejected, logger, metrics, tracer
from shared.runtime import Runtime

processor = BatchProcessor(event_type=EventType.SQS)
MAX_DELAY_SECONDS = 900
MAX_DEFERRALS = 200
MAX_BUDGET_DELAY_SECONDS = 300
MAX_CREDENTIAL_DEFERRALS = 300


def _defer(work: PriceWork | ProductWork, seconds: float, counter: str) -> None:
    body = work.model_dump(mode="json", exclude_defaults=True)
    body[counter] = getattr(work, counter) + 1
    Runtime.get().prices_queue.send(body, delay_seconds=int(min(MAX_DELAY_SECONDS, max(1, seconds))))
    metrics.add_metric(name="PriceStepDeferred", unit=MetricUnit.Count, value=1)


def _work(body: str) -> PriceWork | ProductWork:
    """The step a message holds, by its kind; a malformed message fails → retried → DLQ."""
    data = json.loads(body)
    if isinstance(data, dict) and data.get("kind") in (PRODUCT_DATA, PRODUCT_WRITE):
        return ProductWork.model_validate(data)
    return PriceWork.model_validate(data)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = _work(record.body)
    rt = Runtime.get()
    try:
        # Product data is Oro's to Cin7 within the same budget as prices: the prices flow's API application.
        erp, oro = rt.erp("prices").client, rt.storefront.client
        if isinstance(work, ProductWork):
            flow = ProductFlow(rt.config, rt.state, rt.prices_queue, rt.clock, erp=erp, oro=oro)
            result = flow.handle(work)
        else:
            result = PriceFlow(rt.config, rt.state, rt.prices_queue, rt.clock, erp=erp, oro=oro).handle(work)
    except CredentialsRejected as err:
        count_credentials_rejected(err.system)
        rt.drop_credentials(err.system)
        if work.credential_deferrals >= MAX_CREDENTIAL_DEFERRALS:
            raise
        delay = rt.config.secrets.rejected_retry_seconds * 2 ** min(work.credential_deferrals, 10)
        _defer(work, delay, "credential_deferrals")
        logger.error("credentials rejected; price step deferred", extra={"system": err.system})
        return {"kind": work.kind, "outcome": "deferred"}
    except Throttled as err:
        if work.deferrals >= MAX_DEFERRALS:
            raise
        backoff = min(MAX_BUDGET_DELAY_SECONDS, 2 ** min(work.deferrals, 9))
        _defer(work, max(err.retry_after_seconds or 0, backoff), "deferrals")
        logger.info("price step deferred", extra={"kind": work.kind, "reason": str(err)})
        return {"kind": work.kind, "outcome": "deferred"}
    metrics.add_metric(name="PriceErpWrites", unit=MetricUnit.Count, value=result.get("erp_writes", 0))
    metrics.add_metric(name="PriceOroWrites", unit=MetricUnit.Count, value=result.get("oro_writes", 0))
    logger.info("price step done", extra={"kind": work.kind, **result})
    return {"kind": work.kind, "outcome": "done", **result}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_dimension(name="flow", value="prices")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
