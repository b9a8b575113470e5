"""Scheduled (`schedules.reconcile`, default hourly): queue the reconciliation of the orders of the window, and
once a day the stock and price drift (shared/flows/reconcile.py); `reconcile_run` does it within the ERP
budget. No ERP or Oro call here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.flows.reconcile_schedule import start_reconcile
from shared.observability import heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="reconcile")
    heartbeat("reconcile")  # a schedule that stops firing alarms (shared/alarms.py)
    rt = Runtime.get()
    queued = start_reconcile(rt.reconcile_queue, rt.clock.now(), rt.config.schedules.reconcile_drift_hour_utc)
    result = {"queued": queued}
    logger.info("reconciliation queued", extra=result)
    return result
