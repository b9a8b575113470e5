"""SQS consumer of the stock queue: one stock step per message (shared/flows/stock.py), partial batch
responses.

As for orders, a step the ERP budget has no token for (or Oro or Cin7 throttled) is sent back with a delay
instead of sleeping in a paid Lambda, and a refused credential alarms (`CredentialsRejected`) and comes back
later and later. Anything else that fails is retried by SQS and ends in the stock DLQ after maxReceiveCount;
the next scheduled run recomputes everything anyway.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.cin7.stock import Cin7Stock
from shared.adapters.orocommerce.inventory import OroInventory
from shared.bulk_steps import run_step
from shared.flows.dead_letters import RecordingProcessor
from shared.flows.stock import StockFlow, StockWork
from shared.observability import logger, metrics, tracer
from shared.runtime import Runtime

processor = RecordingProcessor("stock")  # records each failure's error for `orosync dlq list`
ERP_STEPS = frozenset({"stock_page", "stock_refresh", "stock_webhooks"})
ORO_STEPS = frozenset({"stock_refresh", "stock_push", "stock_check", "stock_write"})


def _flow(rt: Runtime, kind: str) -> StockFlow:
    """The flow with only the systems this step calls (a page read never builds an Oro client)."""
    source = Cin7Stock(rt.erp("stock").client) if kind in ERP_STEPS else None
    target = OroInventory(rt.storefront.client) if kind in ORO_STEPS else None
    return StockFlow(rt.config, rt.state, rt.stock_queue, rt.clock, source=source, target=target)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    work = StockWork.model_validate_json(record.body)  # a malformed message fails → retried → DLQ
    rt = Runtime.get()
    result = run_step(rt, rt.stock_queue, work, lambda: _flow(rt, work.kind).handle(work), flow="stock")
    if result is None:
        return {"kind": work.kind, "outcome": "deferred"}
    metrics.add_metric(
        name="StockLevelsWritten", unit=MetricUnit.Count, value=result.get("levels_written", 0)
    )
    logger.info("stock step done", extra={"kind": work.kind, **result})
    return {"kind": work.kind, "outcome": "done", **result}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_dimension(name="flow", value="stock")
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
