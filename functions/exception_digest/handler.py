"""Scheduled (`schedules.exception_digest`, hourly): the open exceptions per owner, those past their SLA and the
oldest held order as metrics (the alarms of infra/monitoring.py), and once a day, in `alerts.digest_hour_utc`,
each owner team's digest to its topic (shared/flows/digest.py). No ERP or Oro call."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.flows.digest import run_digest
from shared.observability import heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="operations")
    heartbeat("exception_digest")
    rt = Runtime.get()
    result = run_digest(rt.config, rt.state, rt.alerts, rt.clock.now(), force=bool(event.get("force")))
    logger.info("exception digest", extra=result)
    return result
