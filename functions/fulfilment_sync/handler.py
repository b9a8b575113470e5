"""SQS consumer of the fulfilment queue: one step per message (shared/flows/fulfilment.py), partial batch
responses. A step without an ERP token, throttled, or whose order another worker holds right now goes back to
the queue with a growing delay instead of waiting in the Lambda; a refused credential alarms and comes back
later and later; anything else is retried by SQS and ends in the fulfilment DLQ."""

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
from shared.flows.fulfilment import FulfilmentFlow, FulfilmentWork
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

processor = RecordingProcessor("fulfilment")  # records each failure's error for `orosync dlq list`


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = FulfilmentWork.model_validate(json.loads(record.body))  # malformed → retried → DLQ
    rt = Runtime.get()

    def run() -> dict[str, Any]:
        erp, oro = rt.erp("fulfilment").client, rt.storefront.client
        return FulfilmentFlow(rt.config, rt.state, rt.fulfilment_queue, rt.clock, erp=erp, oro=oro).handle(
            work
        )

    result = run_step(rt, rt.fulfilment_queue, work, run, flow="fulfilment")
    if result is None:
        return {"kind": work.kind, "outcome": "deferred"}
    if result.get("action") == "ignored":
        metrics.add_metric(name="FulfilmentSaleIgnored", unit=MetricUnit.Count, value=1)
    logger.info("fulfilment step done", extra={"kind": work.kind, **result})
    return {"kind": work.kind, "outcome": "done", **result}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_dimension(name="flow", value="fulfilment")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
