"""Scheduled (`schedules.fulfilment_poll`, default every 10 minutes): queue the scan of Cin7 sales updated since
the watermark and the check that every sale webhook is active (shared/flows/fulfilment_schedule.py);
`fulfilment_sync` does the work within the ERP budget (shared/flows/fulfilment.py). No ERP or Oro call here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.flows.fulfilment_schedule import start_poll
from shared.observability import heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="fulfilment")
    heartbeat("fulfilment_poll")  # a schedule that stops firing alarms (infra/monitoring.py)
    rt = Runtime.get()
    if not rt.config.fulfilment.enabled:
        return {"queued": [], "skipped": "fulfilment.enabled is false"}
    result = {"queued": start_poll(rt.fulfilment_queue)}
    logger.info("fulfilment poll started", extra=result)
    return result
