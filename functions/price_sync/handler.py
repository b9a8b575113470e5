"""Scheduled (`schedules.price_sync`, default hourly): queue one price step per configured price list mapping
(shared/flows/price_schedule.py); `price_push` does the work within the ERP budget. No ERP or Oro call here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.flows.price_schedule import start_run
from shared.observability import heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="prices")
    heartbeat("price_sync")  # a schedule that stops firing alarms (infra/monitoring.py)
    rt = Runtime.get()
    result = start_run(rt.config, rt.state, rt.prices_queue, rt.clock)
    metrics.add_metric(name="PriceListsQueued", unit=MetricUnit.Count, value=result["queued"])
    logger.info("price run started", extra=result)
    return result
