"""Scheduled (`schedules.stock_sync`, default every 15 minutes): start a stock run. It queues the run's first
page of ERP availability and the check of the fast path's webhook; `stock_push` does the rest, step by
step, within the ERP budget (shared/flows/stock.py). No ERP or Oro call here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.flows.stock_schedule import start_run
from shared.observability import heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="stock")
    heartbeat("stock_sync")  # a schedule that stops firing alarms (infra/monitoring.py)
    rt = Runtime.get()
    run = start_run(rt.stock_queue, rt.clock, fast_path=rt.config.stock.fast_path)
    metrics.add_metric(name="StockRunStarted", unit=MetricUnit.Count, value=1)
    logger.info("stock run started", extra={"run": run})
    return {"run": run}
