"""SQS consumer of the reconcile queue: one reconciliation step per message (shared/flows/reconcile.py),
partial batch responses. A step without an ERP token (reconcile is a bulk flow: it leaves the reserve to
orders), throttled, or refused its credentials goes back to the queue with a growing delay
(shared/bulk_steps.py); anything else is retried by SQS and ends in the reconcile DLQ."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.bulk_steps import run_step
from shared.flows.reconcile import ReconcileFlow, ReconcileWork
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = ReconcileWork.model_validate(json.loads(record.body))  # malformed → retried → DLQ
    rt = Runtime.get()

    def run() -> dict[str, Any]:
        erp, oro = rt.erp("reconcile").client, rt.storefront.client
        flow = ReconcileFlow(rt.config, rt.state, rt.orders_queue, rt.clock, erp=erp, oro=oro)
        return flow.handle(work)

    result = run_step(rt, rt.reconcile_queue, work, run, flow="reconcile")
    if result is None:
        return {"kind": work.kind, "outcome": "deferred"}
    summary = {k: v for k, v in result.items() if not isinstance(v, list)}
    logger.info("reconciliation done", extra={**summary, "orphaned": result.get("orphaned", [])})
    return {"kind": work.kind, "outcome": "done", **summary}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_dimension(name="flow", value="reconcile")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
