"""Scheduled: enqueue every OroCommerce order updated since the watermark (with overlap), then release the
held orders whose blocking mapping now exists (one query of the held orders; no Oro or Cin7 call), and
re-run the DRAFT sales kept for a customer on credit hold, each at most every 15 minutes.

Oro refusing the credentials is an outage: the `CredentialsRejected` metric alarms operations, the cached
secret is dropped, the watermark stays where it was (the next poll reads from there), and the releases,
which call neither system, still run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.errors import CredentialsRejected
from shared.flows.order_poll import WATERMARK, PollResult, poll_orders
from shared.flows.release import recheck_credit_holds, release_resolved
from shared.observability import count_credentials_rejected, heartbeat, logger, metrics, tracer
from shared.runtime import Runtime


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="flow", value="orders")
    metrics.add_dimension(name="system", value="oro")
    heartbeat("order_poll")  # a schedule that stops firing alarms (infra/monitoring.py)
    rt = Runtime.get()
    rejected = None
    try:
        result = poll_orders(
            rt.storefront,
            rt.state,
            rt.orders_queue,
            rt.clock,
            overlap=timedelta(minutes=rt.config.schedules.order_poll_overlap_minutes),
        )
    except CredentialsRejected as err:
        count_credentials_rejected(err.system)
        rt.drop_credentials(err.system)
        logger.error(
            "credentials rejected; orders not polled", extra={"system": err.system, "reason": str(err)}
        )
        rejected = err.system
        watermark = rt.state.get_watermark(WATERMARK)
        result = PollResult(since=watermark or rt.clock.now(), watermark=watermark)
    released = release_resolved(rt.state, rt.orders_queue, rt.clock, rt.config)
    released += recheck_credit_holds(rt.state, rt.orders_queue, rt.clock)
    metrics.add_metric(name="OrdersPolled", unit=MetricUnit.Count, value=result.seen)
    metrics.add_metric(name="OrdersEnqueuedByPoll", unit=MetricUnit.Count, value=result.enqueued)
    metrics.add_metric(name="OrdersAutoReleased", unit=MetricUnit.Count, value=len(released))
    summary = {
        "since": result.since.isoformat(),
        "seen": result.seen,
        "enqueued": result.enqueued,
        "released": len(released),
        "watermark": result.watermark.isoformat() if result.watermark else None,
        **({"credentials_rejected": rejected} if rejected else {}),
    }
    logger.info("order poll done", extra=summary)
    return summary
