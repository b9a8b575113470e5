"""SQS consumer of the customers queue: one customer step per message (shared/flows/customers.py), partial
batch responses. A step without an ERP token, throttled, or whose account another run is onboarding right
now goes back to the queue with a growing delay instead of waiting in the Lambda; a refused credential alarms
and comes back later and later; anything else is retried by SQS and ends in the customers DLQ."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bulk_steps import run_step
from shared.flows.customers import CustomerFlow, CustomerWork
from shared.flows.dead_letters import RecordingProcessor
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

processor = RecordingProcessor("customers")  # records each failure's error for `orosync dlq list`


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = CustomerWork.model_validate(json.loads(record.body))  # malformed → retried → DLQ
    rt = Runtime.get()

    def run() -> dict[str, Any]:
        flow = CustomerFlow(
            rt.config,
            rt.state,
            rt.customers_queue,
            rt.clock,
            erp=rt.erp("customers").client,
            oro=rt.storefront.client,
            orders_queue=rt.orders_queue,
        )
        return flow.handle(work)

    result = run_step(rt, rt.customers_queue, work, run, flow="customer")
    if result is None:
        return {"kind": work.kind, "outcome": "deferred"}
    metrics.add_metric(name=f"Customer_{result.get('action', work.kind)}", unit=MetricUnit.Count, value=1)
    logger.info("customer step done", extra={"kind": work.kind, **result})
    return {"kind": work.kind, "outcome": "done", **result}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_dimension(name="flow", value="customers")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
