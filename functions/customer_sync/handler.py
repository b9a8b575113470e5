"""Scheduled (`schedules.customer_sync`, default every 15 minutes): queue the scan of Oro accounts changed
since the watermark and the check of ERP customers awaiting approval (shared/flows/customer_schedule.py);
`customer_push` does the work within the ERP budget (shared/flows/customers.py). No ERP or Oro call here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.flows.customer_schedule import start_run
from shared.observability import heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="customers")
    heartbeat("customer_sync")  # a schedule that stops firing alarms (infra/monitoring.py)
    rt = Runtime.get()
    result = {"queued": start_run(rt.customers_queue)}
    logger.info("customer run started", extra=result)
    return result
