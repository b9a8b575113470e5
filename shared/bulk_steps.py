"""How a bulk flow's queue consumer (stock_push, price_push) treats a step it cannot run now (DESIGN §7).

A step the ERP budget has no token for, or that a system throttled, goes back to its queue with a delay that
doubles from 1 s up to 5 minutes, instead of waiting in a paid Lambda: it waits through an order peak and
fails toward the DLQ (and its alarm) only after about half a day without a token. A refused credential is
an outage, not the step's fault: `CredentialsRejected` is counted (it alarms), the cached secrets are dropped,
and the step comes back later and later (about three days) until the secret is fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from shared.errors import CredentialsRejected, Throttled
from shared.observability import count_credentials_rejected, logger, metrics
from shared.ports import WorkQueue
from shared.runtime import Runtime

MAX_DELAY_SECONDS = 900  # SQS's limit on DelaySeconds
MAX_DEFERRALS = 200
MAX_BUDGET_DELAY_SECONDS = 300
MAX_CREDENTIAL_DEFERRALS = 300


class Step(Protocol):
    kind: str
    deferrals: int
    credential_deferrals: int

    def model_dump(self, *, mode: str, exclude_defaults: bool) -> dict[str, Any]: ...


def _defer(queue: WorkQueue, work: Step, seconds: float, counter: str, flow: str) -> None:
    body = work.model_dump(mode="json", exclude_defaults=True)
    body[counter] = getattr(work, counter) + 1
    queue.send(body, delay_seconds=int(min(MAX_DELAY_SECONDS, max(1, seconds))))
    metrics.add_metric(name=f"{flow.title()}StepDeferred", unit=MetricUnit.Count, value=1)


def run_step(
    rt: Runtime, queue: WorkQueue, work: Step, run: Callable[[], dict[str, Any]], *, flow: str
) -> dict[str, Any] | None:
    """`run()`'s result, or None when the step was deferred (sent back to `queue`)."""
    try:
        return run()
    except CredentialsRejected as err:
        count_credentials_rejected(err.system)
        rt.drop_credentials(err.system)
        if work.credential_deferrals >= MAX_CREDENTIAL_DEFERRALS:
            raise
        delay = rt.config.secrets.rejected_retry_seconds * 2 ** min(work.credential_deferrals, 10)
        _defer(queue, work, delay, "credential_deferrals", flow)
        logger.error(
            f"credentials rejected; {flow} step deferred", extra={"system": err.system, "kind": work.kind}
        )
    except Throttled as err:
        if work.deferrals >= MAX_DEFERRALS:
            raise
        backoff = min(MAX_BUDGET_DELAY_SECONDS, 2 ** min(work.deferrals, 9))
        _defer(queue, work, max(err.retry_after_seconds or 0, backoff), "deferrals", flow)
        logger.info(f"{flow} step deferred", extra={"kind": work.kind, "reason": str(err)})
    return None
