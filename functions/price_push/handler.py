"""SQS consumer of the prices queue: one price step per message (shared/flows/prices.py), or a product data
step (shared/flows/products.py: `product_data`, `product_write`), partial batch responses. A step without an
ERP token, or throttled, goes back to the queue with a growing delay (1 s doubling to 5 minutes) instead of
waiting in the Lambda; a refused credential alarms and comes back later and later; anything else is retried by SQS and ends in the prices DLQ."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bulk_steps import run_step
from shared.flows.dead_letters import RecordingProcessor
from shared.flows.prices import PriceFlow, PriceWork
from shared.flows.products import PRODUCT_DATA, PRODUCT_WRITE, ProductFlow, ProductWork
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

processor = RecordingProcessor("prices")  # records each failure's error for `orosync dlq list`


def _work(body: str) -> PriceWork | ProductWork:
    """The step a message holds, by its kind; a malformed message fails → retried → DLQ."""
    data = json.loads(body)
    if isinstance(data, dict) and data.get("kind") in (PRODUCT_DATA, PRODUCT_WRITE):
        return ProductWork.model_validate(data)
    return PriceWork.model_validate(data)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = _work(record.body)
    rt = Runtime.get()
    # Product data is Oro's to Cin7 within the same budget as prices: the prices flow's API application.

    def run() -> dict[str, Any]:
        erp, oro = rt.erp("prices").client, rt.storefront.client
        if isinstance(work, ProductWork):
            return ProductFlow(rt.config, rt.state, rt.prices_queue, rt.clock, erp=erp, oro=oro).handle(work)
        return PriceFlow(rt.config, rt.state, rt.prices_queue, rt.clock, erp=erp, oro=oro).handle(work)

    result = run_step(rt, rt.prices_queue, work, run, flow="price")
    if result is None:
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
