"""Every CloudWatch alarm of the stack, declared once: infra/monitoring.py builds them, docs/operations.md
("The alarms") is generated from them, and tests/infrastructure keeps the template, this list and the guide in
step. Each names the team whose topic it notifies, what it means and what to do.

An alarm watches either one of our own metrics (namespace `Orosync`, emitted by shared/observability.py,
shared/alerts.py and shared/flows/digest.py) or an AWS metric of one resource (`resource`: a queue, its DLQ,
a function, the API), which infra/monitoring.py resolves to that resource's dimensions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from shared.alerts import EXCEPTION_OPENED
from shared.config import Config, Team
from shared.domain.exceptions_catalogue import exception_type
from shared.flows.digest import EXCEPTIONS_PAST_SLA, OLDEST_HELD_ORDER_HOURS
from shared.observability import (
    CREDENTIAL_SYSTEMS,
    CREDENTIALS_REJECTED,
    ERP_BUDGET_EXHAUSTED,
    HEARTBEAT,
)
from shared.resources import FUNCTIONS, QUEUES


@dataclass(frozen=True)
class AlarmSpec:
    id: str  # construct id and the alarm's name suffix, e.g. "OrdersDlqMessages"
    team: Team  # whose topic it notifies
    meaning: str  # the alarm's description: what happened
    action: str  # what to do (the operations guide)
    metric: str  # metric name
    statistic: Literal["Sum", "Maximum", "SampleCount", "Average"]
    threshold: float
    comparison: Literal[">", "<"] = ">"
    period_minutes: int = 5
    evaluation_periods: int = 1
    missing_is_breach: bool = False  # True for heartbeats: no data means the schedule stopped
    # an AWS metric of one resource ("queue:orders", "dlq:orders", "function:order_sync", "api"), else ours
    resource: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)  # of our own metrics, besides `service`


def _minutes(expression: str) -> int:
    """A schedule's interval in minutes: `rate(N unit)`; a cron expression counts as daily."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return 24 * 60
    n, unit = int(match[1]), match[2]
    return n * {"m": 1, "h": 60, "d": 24 * 60}[unit[0]]


def _pascal(text: str) -> str:
    return "".join(part.title() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def alarm_specs(config: Config) -> list[AlarmSpec]:
    ops = Team.OPERATIONS
    out: list[AlarmSpec] = []
    for q in QUEUES:
        out.append(
            AlarmSpec(
                f"{_pascal(q.dlq_key)}Messages",
                ops,
                f"Messages in the {q.dlq_key} queue: {q.consumer} gave up on them after {q.max_receive_count} "
                "receives.",
                f"`orosync dlq list {q.key}` shows each with its order and error; fix the cause, then "
                f"`orosync dlq redrive {q.key}` (`--dry-run` first).",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                0,
                resource=f"dlq:{q.key}",
            )
        )
        out.append(
            AlarmSpec(
                f"{_pascal(q.key)}OldestMessage",
                ops,
                f"A message has waited more than {q.max_age_seconds // 60} minutes in the {q.key} queue: "
                f"{q.consumer} is not keeping up, failing, or deferring (ERP budget, a refused credential).",
                f"Look at {q.consumer}'s errors and the ERP budget alarms; `orosync dlq list {q.key}` for what "
                "failed for good.",
                "ApproximateAgeOfOldestMessage",
                "Maximum",
                q.max_age_seconds,
                resource=f"queue:{q.key}",
            )
        )
    for spec in FUNCTIONS:
        out.append(
            AlarmSpec(
                f"{_pascal(spec.name)}Errors",
                ops,
                f"{spec.name} failed with an unhandled error.",
                f"Read {spec.name}'s log group for the error; its messages are retried and end in a DLQ.",
                "Errors",
                "Sum",
                0,
                resource=f"function:{spec.name}",
            )
        )
        out.append(
            AlarmSpec(
                f"{_pascal(spec.name)}Throttles",
                ops,
                f"{spec.name} was throttled (concurrency limit reached).",
                "Raise the account's Lambda concurrency or the queue's maximum concurrency; nothing is lost.",
                "Throttles",
                "Sum",
                0,
                resource=f"function:{spec.name}",
            )
        )
        if spec.schedule is not None:
            expression = (
                getattr(config.schedules, spec.schedule.key, None) or spec.schedule.default_expression
            )
            every = _minutes(expression)
            period = min(max(every, 5), 24 * 60)
            out.append(
                AlarmSpec(
                    f"{_pascal(spec.name)}Heartbeat",
                    ops,
                    f"{spec.name} did not run for two of its periods ({expression}): its schedule is off or "
                    "failing, and what it polls is not being picked up.",
                    f"Check the EventBridge schedule and {spec.name}'s errors.",
                    HEARTBEAT,
                    "Sum",
                    1,
                    comparison="<",
                    period_minutes=period,
                    evaluation_periods=2 if period * 2 <= 24 * 60 else 1,
                    missing_is_breach=True,
                    dimensions={"function": spec.name},
                )
            )
    for system in CREDENTIAL_SYSTEMS:
        out.append(
            AlarmSpec(
                f"{_pascal(system)}CredentialsRejected",
                ops,
                f"{system} refused the service's credentials: no order reaches or leaves {system} until the "
                "secret is fixed. Messages are retried, not lost.",
                'Rotate or fix the secret ("Rotating the secrets" above); the deferred messages then go through.',
                CREDENTIALS_REJECTED,
                "Sum",
                0,
                period_minutes=1,
                dimensions={"system": system},
            )
        )
    for name in config.erp.applications:
        out.append(
            AlarmSpec(
                f"{_pascal(name)}ErpBudgetSaturated",
                ops,
                f"The ERP budget of API application {name!r} ran out in each of 3 periods of 5 minutes: bulk "
                "flows wait and orders may be delayed.",
                "Look for a bulk run (stock, prices) at the wrong time, or give the bulk flows an API "
                "application of their own (`erp.applications`).",
                ERP_BUDGET_EXHAUSTED,
                "Sum",
                0,
                evaluation_periods=3,
                dimensions={"application": name},
            )
        )
    for team in Team:
        out.append(
            AlarmSpec(
                f"{_pascal(team.value)}ExceptionsPastSla",
                team,
                f"Exceptions owned by {team.value} have been open longer than their SLA.",
                f"`orosync exceptions list --owner {team.value}`: each names the command that resolves it.",
                EXCEPTIONS_PAST_SLA,
                "Maximum",
                0,
                period_minutes=60,
                dimensions={"owner": team.value},
            )
        )
    out.append(
        AlarmSpec(
            "OrderHeldTooLong",
            ops,
            f"An order has been held longer than {config.alerts.held_order_max_hours} h "
            "(`alerts.held_order_max_hours`): a buyer is waiting.",
            "`orosync orders list` shows the held orders with their reasons and owners.",
            OLDEST_HELD_ORDER_HOURS,
            "Maximum",
            config.alerts.held_order_max_hours,
            period_minutes=60,
        )
    )
    orphaned = exception_type("ORDER_ORPHANED")
    out.append(
        AlarmSpec(
            "OrderOrphaned",
            Team(orphaned.owner.value),
            "Reconciliation found an Oro order that is neither synced, held nor filtered (ORDER_ORPHANED): "
            "something dropped it. It was re-enqueued.",
            "`orosync exceptions list --owner operations`; find why its message was lost (DLQ, a deleted "
            "message, a webhook that never came).",
            EXCEPTION_OPENED,
            "Sum",
            0,
            dimensions={"code": "ORDER_ORPHANED", "owner": orphaned.owner.value},
        )
    )
    out.append(
        AlarmSpec(
            "Api5xx",
            ops,
            "The API answered 5xx: a webhook was not taken in (the sender retries 502/503 only).",
            "Read webhook_ingest's log group; Oro retries, Cin7 retries six times then switches the webhook off.",
            "5XXError",
            "Sum",
            0,
            resource="api",
        )
    )
    return out


def as_markdown(config: Config) -> str:
    """The alarms as the operations guide's table (docs/operations.md embeds it verbatim)."""
    rows = ["| alarm | notifies | what it means | what to do |", "|---|---|---|---|"]
    for a in alarm_specs(config):
        rows.append(f"| `{a.id}` | {a.team.value} | {a.meaning} | {a.action} |")
    return "\n".join(rows)
